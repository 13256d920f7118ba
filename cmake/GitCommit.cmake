# The commit the binary was built from, stored in every results file for provenance.
find_package(Git QUIET)
# Without a .git folder (a copied tree), RINGBENCH_GIT_COMMIT in the environment names it.
set(RINGBENCH_GIT_COMMIT "unknown")
if(DEFINED ENV{RINGBENCH_GIT_COMMIT})
  set(RINGBENCH_GIT_COMMIT "$ENV{RINGBENCH_GIT_COMMIT}")
endif()
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} describe --always --dirty --abbrev=12
                  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
                  OUTPUT_VARIABLE _commit OUTPUT_STRIP_TRAILING_WHITESPACE
                  ERROR_QUIET RESULT_VARIABLE _rc)
  if(_rc EQUAL 0 AND _commit)
    set(RINGBENCH_GIT_COMMIT "${_commit}")
  endif()
endif()
