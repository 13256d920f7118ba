// Reading and writing HDF5 attributes, datasets and groups with the project's error check: the
// few calls the results file and the calibration file are built from.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "core/Hdf5.hpp"

namespace ringbench {

// HDF5 prints its error stack to stderr by default; we report errors ourselves.
inline void silence_hdf5() {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

inline H5Id string_type() {
  H5Id t = h5_type(RINGBENCH_CHECK_HDF5(H5Tcopy(H5T_C_S1)));
  RINGBENCH_CHECK_HDF5(H5Tset_size(t, H5T_VARIABLE));
  RINGBENCH_CHECK_HDF5(H5Tset_cset(t, H5T_CSET_UTF8));
  return t;
}

inline void write_attr(hid_t obj, const std::string& name, const std::string& value) {
  H5Id type = string_type();
  H5Id space = h5_space(RINGBENCH_CHECK_HDF5(H5Screate(H5S_SCALAR)));
  H5Id attr = h5_attr(
      RINGBENCH_CHECK_HDF5(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT)));
  const char* text = value.c_str();
  RINGBENCH_CHECK_HDF5(H5Awrite(attr, type, &text));
}

template <typename T>
hid_t native_type() {
  if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
  if constexpr (std::is_same_v<T, float>) return H5T_NATIVE_FLOAT;
  if constexpr (std::is_same_v<T, std::int64_t>) return H5T_NATIVE_INT64;
  if constexpr (std::is_same_v<T, int>) return H5T_NATIVE_INT;
  if constexpr (std::is_same_v<T, std::uint8_t>) return H5T_NATIVE_UINT8;
}

template <typename T>
inline void write_attr(hid_t obj, const std::string& name, T value) {
  H5Id space = h5_space(RINGBENCH_CHECK_HDF5(H5Screate(H5S_SCALAR)));
  H5Id attr = h5_attr(RINGBENCH_CHECK_HDF5(
      H5Acreate2(obj, name.c_str(), native_type<T>(), space, H5P_DEFAULT, H5P_DEFAULT)));
  RINGBENCH_CHECK_HDF5(H5Awrite(attr, native_type<T>(), &value));
}

inline std::string read_string_attr(hid_t obj, const std::string& name) {
  H5Id attr = h5_attr(RINGBENCH_CHECK_HDF5(H5Aopen(obj, name.c_str(), H5P_DEFAULT)));
  H5Id type = string_type();
  char* text = nullptr;
  RINGBENCH_CHECK_HDF5(H5Aread(attr, type, &text));
  std::string value = text ? text : "";
  H5free_memory(text);
  return value;
}

template <typename T>
T read_attr(hid_t obj, const std::string& name) {
  H5Id attr = h5_attr(RINGBENCH_CHECK_HDF5(H5Aopen(obj, name.c_str(), H5P_DEFAULT)));
  T value{};
  RINGBENCH_CHECK_HDF5(H5Aread(attr, native_type<T>(), &value));
  return value;
}

inline bool is_string_attr(hid_t obj, const std::string& name) {
  H5Id attr = h5_attr(RINGBENCH_CHECK_HDF5(H5Aopen(obj, name.c_str(), H5P_DEFAULT)));
  H5Id type = h5_type(RINGBENCH_CHECK_HDF5(H5Aget_type(attr)));
  return H5Tget_class(type) == H5T_STRING;
}

template <typename T>
inline void write_dataset(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims,
                          const std::vector<T>& data) {
  H5Id space = h5_space(
      RINGBENCH_CHECK_HDF5(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr)));
  H5Id set = h5_dataset(RINGBENCH_CHECK_HDF5(H5Dcreate2(
      parent, name.c_str(), native_type<T>(), space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)));
  if (!data.empty())
    RINGBENCH_CHECK_HDF5(
        H5Dwrite(set, native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()));
}

template <typename T>
std::vector<T> read_dataset(hid_t parent, const std::string& name,
                            std::vector<hsize_t>* dims_out = nullptr) {
  H5Id set = h5_dataset(RINGBENCH_CHECK_HDF5(H5Dopen2(parent, name.c_str(), H5P_DEFAULT)));
  H5Id space = h5_space(RINGBENCH_CHECK_HDF5(H5Dget_space(set)));
  const int rank = RINGBENCH_CHECK_HDF5(H5Sget_simple_extent_ndims(space));
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  RINGBENCH_CHECK_HDF5(H5Sget_simple_extent_dims(space, dims.data(), nullptr));
  hsize_t n = 1;
  for (auto d : dims) n *= d;
  std::vector<T> data(n);
  if (n > 0)
    RINGBENCH_CHECK_HDF5(
        H5Dread(set, native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()));
  if (dims_out) *dims_out = dims;
  return data;
}

inline H5Id create_group(hid_t parent, const std::string& name) {
  return h5_group(RINGBENCH_CHECK_HDF5(
      H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)));
}

inline H5Id open_group(hid_t parent, const std::string& name) {
  return h5_group(RINGBENCH_CHECK_HDF5(H5Gopen2(parent, name.c_str(), H5P_DEFAULT)));
}

inline bool has_link(hid_t parent, const std::string& name) {
  return RINGBENCH_CHECK_HDF5(H5Lexists(parent, name.c_str(), H5P_DEFAULT)) > 0;
}

}  // namespace ringbench
