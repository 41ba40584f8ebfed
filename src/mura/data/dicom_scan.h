#pragma once
/// A DICOM file's element structure, walked before GDCM reads it. GDCM (3.0, as Debian ships
/// it) allocates whatever length an element declares before reading its value (a 4 KB file
/// declaring a 2 GB element makes it allocate 2 GB), and asserts -- aborting the process --
/// on some truncated or inconsistent files. Fuzzing found both; a service that reads uploads
/// cannot afford either. This walk reads only element headers (tag, VR, length), never a
/// value, and refuses a file whose structure does not hold:
///   - the File Meta Information (group 0002, explicit VR little endian) complete;
///   - every element's value inside the file (or inside its item or sequence);
///   - sequences and items well-formed (defined lengths inside their parent; undefined
///     lengths closed by their delimiters), nested at most 32 deep;
///   - a deflated data set inflating to at most 256 MB, then walked the same way.
/// The transfer syntax is the meta header's (or, without one, guessed from the first element
/// as GDCM does). In an explicit VR data set every element needs a VR GDCM knows: GDCM's
/// fallback readers for files that break this (VR16, explicit/implicit mixtures) are where
/// its assertions are (fuzzing found one), so such files are refused. Messages name the file,
/// the element's tag and byte offset, never a value.
#include <cstdint>
#include <istream>
#include <string>

namespace mura::data {

/// Walks `in` (whose length is `size`); with `header_only`, stops at Pixel Data (7FE0,0010)
/// as the tree indexer's header scan does. Throws mura::Error naming `name` on a bad
/// structure. Leaves `in` cleared and at its start.
void check_dicom_structure(std::istream& in, std::uint64_t size, const std::string& name,
                           bool header_only);

}  // namespace mura::data
