// RAII for HDF5 ids and the HDF5 flavour of the project's error-check idiom.
#pragma once

#include <hdf5.h>

#include <string>
#include <utility>

#include "core/Error.hpp"

namespace ringbench {

// The innermost message on HDF5's error stack (automatic printing is switched off).
std::string hdf5_error_message();

#define RINGBENCH_CHECK_HDF5(call)                                                                 \
  ([&]() {                                                                                         \
    auto rb_status_ = (call);                                                                      \
    if (rb_status_ < 0)                                                                            \
      ::ringbench::throw_library_error("HDF5", #call, ::ringbench::hdf5_error_message(), __FILE__, \
                                       __LINE__);                                                  \
    return rb_status_;                                                                             \
  }())

// Owns one hid_t and closes it with the matching H5?close.
class H5Id {
 public:
  using Closer = herr_t (*)(hid_t);
  H5Id() = default;
  H5Id(hid_t id, Closer close) : id_(id), close_(close) {}
  H5Id(H5Id&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), close_(o.close_) {}
  H5Id& operator=(H5Id&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
      close_ = o.close_;
    }
    return *this;
  }
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  ~H5Id() { reset(); }

  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }
  void reset() {
    if (id_ >= 0 && close_) close_(id_);
    id_ = H5I_INVALID_HID;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
};

inline H5Id h5_file(hid_t id) {
  return {id, H5Fclose};
}
inline H5Id h5_group(hid_t id) {
  return {id, H5Gclose};
}
inline H5Id h5_dataset(hid_t id) {
  return {id, H5Dclose};
}
inline H5Id h5_space(hid_t id) {
  return {id, H5Sclose};
}
inline H5Id h5_type(hid_t id) {
  return {id, H5Tclose};
}
inline H5Id h5_attr(hid_t id) {
  return {id, H5Aclose};
}
inline H5Id h5_plist(hid_t id) {
  return {id, H5Pclose};
}

}  // namespace ringbench
