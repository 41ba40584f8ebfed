#include "mura/data/dicom_j2k.h"

#include <gdcmImage.h>
#include <gdcmSequenceOfFragments.h>
#include <openjpeg.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "mura/util/error.h"

namespace mura::data {
namespace {

struct Memory {
  const unsigned char* data;
  std::size_t size, at = 0;
};

OPJ_SIZE_T read_cb(void* out, OPJ_SIZE_T n, void* user) {
  auto* m = static_cast<Memory*>(user);
  if (m->at >= m->size) return static_cast<OPJ_SIZE_T>(-1);
  const std::size_t k = std::min<std::size_t>(n, m->size - m->at);
  std::memcpy(out, m->data + m->at, k);
  m->at += k;
  return k;
}

OPJ_OFF_T skip_cb(OPJ_OFF_T n, void* user) {
  auto* m = static_cast<Memory*>(user);
  if (n < 0) {
    if (static_cast<std::size_t>(-n) > m->at) return -1;
    m->at -= static_cast<std::size_t>(-n);
    return n;
  }
  const std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(n), m->size - m->at);
  m->at += k;
  return static_cast<OPJ_OFF_T>(k);
}

OPJ_BOOL seek_cb(OPJ_OFF_T pos, void* user) {
  auto* m = static_cast<Memory*>(user);
  if (pos < 0 || static_cast<std::size_t>(pos) > m->size) return OPJ_FALSE;
  m->at = static_cast<std::size_t>(pos);
  return OPJ_TRUE;
}

void quiet(const char*, void*) {}

struct CodecDeleter {
  void operator()(opj_codec_t* c) const { opj_destroy_codec(c); }
};
struct StreamDeleter {
  void operator()(opj_stream_t* s) const { opj_stream_destroy(s); }
};
struct ImageDeleter {
  void operator()(opj_image_t* i) const { opj_image_destroy(i); }
};

}  // namespace

J2kPixels decode_j2k(std::string_view data, int width, int height, const std::string& name) {
  auto fail = [&](const std::string& why) -> void {
    throw Error(name + ": the JPEG 2000 Pixel Data (7FE0,0010) " + why);
  };
  static const unsigned char kJp2[] = {0, 0, 0, 0x0C, 'j', 'P', ' ', ' '};
  const bool jp2 = data.size() >= 8 && std::memcmp(data.data(), kJp2, 8) == 0;
  std::unique_ptr<opj_codec_t, CodecDeleter> codec(
      opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K));
  if (!codec) fail("could not be decoded (no decoder)");
  opj_set_info_handler(codec.get(), quiet, nullptr);
  opj_set_warning_handler(codec.get(), quiet, nullptr);
  opj_set_error_handler(codec.get(), quiet, nullptr);
  opj_dparameters_t params;
  opj_set_default_decoder_parameters(&params);
  if (!opj_setup_decoder(codec.get(), &params)) fail("could not be decoded (decoder setup)");
  Memory memory{reinterpret_cast<const unsigned char*>(data.data()), data.size()};
  std::unique_ptr<opj_stream_t, StreamDeleter> stream(
      opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE));
  if (!stream) fail("could not be decoded (no stream)");
  opj_stream_set_user_data(stream.get(), &memory, nullptr);
  opj_stream_set_user_data_length(stream.get(), memory.size);
  opj_stream_set_read_function(stream.get(), read_cb);
  opj_stream_set_skip_function(stream.get(), skip_cb);
  opj_stream_set_seek_function(stream.get(), seek_cb);
  opj_image_t* raw = nullptr;
  const bool header = opj_read_header(stream.get(), codec.get(), &raw);
  std::unique_ptr<opj_image_t, ImageDeleter> image(raw);  // owned from here, whatever happened
  if (!header || !image) fail("has no readable codestream header (damaged)");
  if (image->numcomps < 1 || image->numcomps > 4) fail("has an unsupported number of components");
  for (OPJ_UINT32 c = 0; c < image->numcomps; ++c) {
    const opj_image_comp_t& k = image->comps[c];
    if (k.dx != 1 || k.dy != 1) fail("has subsampled components (not supported)");
    if (k.prec < 1 || k.prec > 16) fail("has more than 16 bits per sample (not supported)");
  }
  if (image->x1 - image->x0 != static_cast<OPJ_UINT32>(width) ||
      image->y1 - image->y0 != static_cast<OPJ_UINT32>(height))
    fail("is not the image size its header gives");
  if (!opj_decode(codec.get(), stream.get(), image.get()) ||
      !opj_end_decompress(codec.get(), stream.get()))
    fail("could not be decoded (truncated or corrupt codestream)");
  J2kPixels out;
  out.width = width;
  out.height = height;
  out.components = static_cast<int>(image->numcomps);
  out.precision = static_cast<int>(image->comps[0].prec);
  out.is_signed = image->comps[0].sgnd != 0;
  out.bits_allocated = out.precision <= 8 ? 8 : 16;
  for (OPJ_UINT32 c = 0; c < image->numcomps; ++c) {
    const opj_image_comp_t& k = image->comps[c];
    if (!k.data || k.w != static_cast<OPJ_UINT32>(width) ||
        k.h != static_cast<OPJ_UINT32>(height) || static_cast<int>(k.prec) != out.precision ||
        (k.sgnd != 0) != out.is_signed)
      fail("has components of different sizes or precisions (not supported)");
  }
  const std::size_t n = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  const std::size_t bytes_per = static_cast<std::size_t>(out.bits_allocated / 8);
  out.bytes.resize(n * static_cast<std::size_t>(out.components) * bytes_per);
  char* dst = out.bytes.data();
  for (std::size_t i = 0; i < n; ++i) {
    for (int c = 0; c < out.components; ++c) {
      const std::uint32_t v = static_cast<std::uint32_t>(image->comps[c].data[i]);
      *dst++ = static_cast<char>(v & 0xff);
      if (bytes_per == 2) *dst++ = static_cast<char>((v >> 8) & 0xff);
    }
  }
  return out;
}

std::vector<char> decode_j2k_pixels(gdcm::Image& image, const std::string& name) {
  const gdcm::SequenceOfFragments* sf = image.GetDataElement().GetSequenceOfFragments();
  if (!sf || sf->GetNumberOfFragments() == 0)
    throw Error(name + ": JPEG 2000 Pixel Data (7FE0,0010) without fragments");
  std::string codestream;
  for (unsigned i = 0; i < sf->GetNumberOfFragments(); ++i)
    if (const gdcm::ByteValue* bv = sf->GetFragment(i).GetByteValue())
      codestream.append(bv->GetPointer(), bv->GetLength());
  J2kPixels j = decode_j2k(codestream, static_cast<int>(image.GetColumns()),
                           static_cast<int>(image.GetRows()), name);
  // the codestream's format where the header disagrees, as GDCM's TryJPEG2000Codec does
  const gdcm::PixelFormat h = image.GetPixelFormat();
  // (same bits allocated: only fewer bits stored is taken from the codestream, and only when
  // signedness and samples agree -- a signedness mismatch keeps the header's, as GDCM does)
  if (j.bits_allocated == h.GetBitsAllocated()) {
    if (j.components == h.GetSamplesPerPixel() &&
        j.is_signed == (h.GetPixelRepresentation() == 1) && j.precision < h.GetBitsStored())
      image.GetPixelFormat().SetBitsStored(static_cast<unsigned short>(j.precision));
  } else {
    image.SetPixelFormat(gdcm::PixelFormat(
        static_cast<unsigned short>(j.components), static_cast<unsigned short>(j.bits_allocated),
        static_cast<unsigned short>(j.precision), static_cast<unsigned short>(j.precision - 1),
        j.is_signed ? 1 : 0));
  }
  image.SetPlanarConfiguration(0);  // the samples come interleaved
  return std::move(j.bytes);
}

}  // namespace mura::data
