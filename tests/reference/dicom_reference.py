#!/usr/bin/env python3
"""DICOM fixtures and an independent reference for mura's DICOM reader (test oracle only).

Writes into OUT:
  pydicom/<name>.ref.png     pydicom + numpy rendering of each of pydicom's test files,
                             implementing PS3.4 N.2 in the standard's order (the steps mura's
                             dicom_pipeline.h documents), written independently of mura
  pydicom/<name>.dcmtk.png   DCMTK's dcm2pnm with the matching options, where it decodes
  generated/<enc>.dcm        files made from a ../shared/data PNG in every encoding (MONOCHROME1,
                             12 bits in 16 with the unused high bits set, rescale, two windows;
                             compressed with gdcmconv), with <enc>.ref.png
  generated/source.png       the PNG they were made from
  phi/                       a tree whose headers carry distinct identifying values everywhere
  manifest.json              what was written, and why anything was skipped

Compressed pixel data is decoded for the reference by DCMTK (dcmdjpeg, dcmdjpls) or by
pydicom's own handlers (RLE, deflate, JPEG 2000 through Pillow), never by GDCM.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

TEST_FILES = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")

JPEG_TS = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57",
           "1.2.840.10008.1.2.4.70"}
JPEGLS_TS = {"1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"}


def decoded_dataset(path, tmp):
    """The data set with uncompressed pixel data where pydicom cannot decode it itself."""
    ds = pydicom.dcmread(path, force=True)
    ts = str(ds.file_meta.TransferSyntaxUID) if "TransferSyntaxUID" in ds.file_meta else ""
    tool = "dcmdjpeg" if ts in JPEG_TS else "dcmdjpls" if ts in JPEGLS_TS else None
    if not ts:  # no meta header: pydicom needs to be told what it read
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian if not ds.is_implicit_VR else "1.2.840.10008.1.2"
    if tool:
        out = os.path.join(tmp, os.path.basename(path) + ".raw.dcm")
        subprocess.run([tool, path, out], check=True, capture_output=True)
        ds = pydicom.dcmread(out, force=True)
    return ds


def lut_of(item, signed):
    desc = list(item.LUTDescriptor)
    entries = desc[0] or 65536
    first = desc[1]
    if signed and first >= 32768:
        first -= 65536
    data = item.LUTData
    data = np.asarray(data if isinstance(data, (list, tuple)) else np.frombuffer(data, "<u2"), dtype=np.float64)
    return first, int(desc[2]), data[:entries], str(item.get("LUTExplanation", ""))


def apply_lut(first, data, x):
    idx = np.clip(np.floor(x) - first, 0, len(data) - 1).astype(np.int64)
    return data[idx]


def render(ds, window=None):
    """PS3.4 N.2 in order, to uint8 (see mura's dicom_pipeline.h for the same steps)."""
    rows, cols = int(ds.Rows), int(ds.Columns)
    pi = str(ds.PhotometricInterpretation).strip()
    spp = int(ds.get("SamplesPerPixel", 1))
    arr = ds.pixel_array
    if spp == 3:
        if arr.dtype.itemsize > 1:
            arr = np.floor(arr.astype(np.float64) * (255.0 / 65535.0) + 0.5).astype(np.uint8)
        if pi.startswith("YBR"):
            return arr[..., 0].astype(np.uint8)
        return np.asarray(Image.fromarray(arr.astype(np.uint8), "RGB").convert("L"))
    ba, bs, hb = int(ds.BitsAllocated), int(ds.BitsStored), int(ds.HighBit)
    signed = int(ds.PixelRepresentation) == 1
    # 1. stored values: BitsStored bits ending at HighBit of the container
    cont = arr.astype(np.int64) & ((1 << ba) - 1)
    s = (cont >> (hb + 1 - bs)) & ((1 << bs) - 1)
    if signed:
        s = np.where(s >> (bs - 1) & 1, s - (1 << bs), s)
    # 2. padding
    pad = np.zeros(s.shape, bool)
    if "PixelPaddingValue" in ds:
        pv = int(ds.PixelPaddingValue)
        pr = int(ds.get("PixelPaddingRangeLimit", pv))
        pad = (s >= min(pv, pr)) & (s <= max(pv, pr))
    # 3. modality
    if "ModalityLUTSequence" in ds:
        first, _, data, _ = lut_of(ds.ModalityLUTSequence[0], signed)
        m = apply_lut(first, data, s.astype(np.float64))
    else:
        m = float(ds.get("RescaleSlope", 1.0)) * s + float(ds.get("RescaleIntercept", 0.0))
    # 4. VOI
    def mv(v):
        return [float(x) for x in (v if isinstance(v, pydicom.multival.MultiValue) else [v])]
    windows = []
    if "WindowCenter" in ds and "WindowWidth" in ds:
        c, w = mv(ds.WindowCenter), mv(ds.WindowWidth)
        ex = ds.get("WindowCenterWidthExplanation", [])
        ex = [str(e) for e in (ex if isinstance(ex, pydicom.multival.MultiValue) else [ex])]
        windows = [(c[i], w[i], ex[i] if i < len(ex) else "") for i in range(min(len(c), len(w)))]
    luts = [lut_of(it, signed) for it in ds.get("VOILUTSequence", [])]
    fn = str(ds.get("VOILUTFunction", "LINEAR")).strip().upper() or "LINEAR"
    choice = None
    if window == "minmax":
        choice = None
    elif window is None:
        choice = ("w", windows[0]) if windows else ("l", luts[0]) if luts else None
    elif str(window).isdigit():
        i = int(window) - 1
        choice = ("w", windows[i]) if windows else ("l", luts[i])
    else:
        for w_ in windows:
            if w_[2].strip().lower() == window.lower():
                choice = ("w", w_)
        for l_ in luts:
            if choice is None and l_[3].strip().lower() == window.lower():
                choice = ("l", l_)
    if choice is None:
        good = m[~pad]
        lo, hi = (good.min(), good.max()) if good.size else (0.0, 0.0)
        y = np.zeros_like(m) if hi <= lo else (m - lo) / (hi - lo) * 255.0
    elif choice[0] == "w":
        c, w, _ = choice[1]
        if fn == "SIGMOID":
            y = 255.0 / (1.0 + np.exp(-4.0 * (m - c) / w))
        elif fn == "LINEAR_EXACT":
            y = np.where(m <= c - w / 2, 0.0, np.where(m > c + w / 2, 255.0, ((m - c) / w + 0.5) * 255.0))
        else:
            y = np.where(m <= c - 0.5 - (w - 1) / 2, 0.0,
                         np.where(m > c - 0.5 + (w - 1) / 2, 255.0, ((m - (c - 0.5)) / (w - 1) + 0.5) * 255.0))
    else:
        first, bits, data, _ = choice[1]
        y = apply_lut(first, data, m) / (2.0 ** bits - 1.0) * 255.0
    # 5. inversion, once
    if pi == "MONOCHROME1" or str(ds.get("PresentationLUTShape", "")).strip().upper() == "INVERSE":
        y = 255.0 - y
    out = np.clip(np.floor(y + 0.5), 0, 255).astype(np.uint8)
    out[pad] = 0
    return out


def save_png(arr, path):
    Image.fromarray(arr, "L").save(path)


def dcmtk_png(path, out, window_index=1, has_window=True):
    """dcm2pnm: first VOI window (+Wi 1) when the file has one, else min/max (+Wm), 8 bits."""
    voi = ["+Wi", str(window_index)] if has_window else ["+Wm"]
    ts = str(pydicom.dcmread(path, force=True, stop_before_pixels=True).file_meta.get("TransferSyntaxUID", ""))
    tool = "dcmj2pnm" if ts in JPEG_TS else "dcml2pnm" if ts in JPEGLS_TS else "dcm2pnm"
    r = subprocess.run([tool, "+on", *voi, path, out], capture_output=True, text=True)
    return r.returncode == 0 and os.path.exists(out)


PYDICOM_FILES = [
    # (file, what it exercises, DCMTK decodes it)
    ("dicomdirtests/77654033/CR1/6154", "CR MONOCHROME1, 12 of 16 bits, rescale 0.684/200, window", True),
    ("dicomdirtests/77654033/CR2/6247", "CR MONOCHROME1 second series", True),
    ("dicomdirtests/77654033/CR3/6278", "CR MONOCHROME1 third series", True),
    ("MR_small.dcm", "explicit VR little endian, signed", True),
    ("MR_small_implicit.dcm", "implicit VR little endian", True),
    ("MR_small_bigendian.dcm", "explicit VR big endian", True),
    ("MR_small_expb.dcm", "explicit VR big endian", True),
    ("MR_small_RLE.dcm", "RLE lossless", True),
    ("MR_small_jpeg_ls_lossless.dcm", "JPEG-LS lossless", True),
    ("MR_small_jp2klossless.dcm", "JPEG 2000 lossless", False),
    ("MR_small_padded.dcm", "odd-length padding", True),
    ("JPEG2000.dcm", "JPEG 2000", False),
    ("693_J2KI.dcm", "JPEG 2000 lossy (irreversible)", False),
    ("J2K_pixelrep_mismatch.dcm", "JPEG 2000 whose header disagrees with the codestream", False),
    ("JPGExtended.dcm", "JPEG extended 12-bit", True),
    ("JPEG-lossy.dcm", "JPEG extended 12-bit lossy", True),
    ("image_dfl.dcm", "deflated explicit VR little endian", True),
    ("CT_small.dcm", "CT signed, rescale", True),
    ("SC_rgb_jpeg_dcmtk.dcm", "JPEG baseline YBR_FULL_422 colour", True),
    ("SC_rgb_rle.dcm", "RLE RGB", True),
    # GDCM 3.0.21 returns this file's 16-bit RLE samples rotated (R lands in G): known, listed
    # by the test as open rather than compared (see the issue note).
    ("SC_rgb_rle_16bit.dcm", "RLE RGB 16-bit", True),
    ("SC_ybr_full_422_uncompressed.dcm", "YBR_FULL_422 uncompressed", True),
]

BROKEN = [
    ("MR_truncated.dcm", "truncated"),
    ("no_meta.dcm", "not DICOM at its start"),
    ("SC_rgb_rle_2frame.dcm", "multi-frame"),
    ("test-SR.dcm", "structured report: no pixels"),
]


def write_pydicom_refs(out, manifest, tmp):
    d = os.path.join(out, "pydicom")
    os.makedirs(d, exist_ok=True)
    for name, what, dcmtk in PYDICOM_FILES:
        src = os.path.join(TEST_FILES, name)
        key = name.replace("/", "_")
        entry = {"file": src, "what": what, "ref": None, "dcmtk": None,
                 # colour JPEG: pydicom (Pillow) and GDCM (libjpeg) upsample chroma differently
                 "tolerance": 2 if name == "SC_rgb_jpeg_dcmtk.dcm" else 1,
                 # DCMTK converts YBR to RGB and back to its own luma; mura takes Y itself
                 "dcmtk_tolerance": 2 if name == "SC_ybr_full_422_uncompressed.dcm" else 1}
        if name == "SC_rgb_rle_16bit.dcm":
            entry["known_gdcm_bug"] = "GDCM 3.0.21 rotates the samples of 16-bit RGB RLE"
        if not os.path.exists(src):
            entry["skip"] = "pydicom's test file is not installed"
            manifest["pydicom"].append(entry)
            continue
        try:
            ds = decoded_dataset(src, tmp)
            ref = render(ds)
            save_png(ref, os.path.join(d, key + ".ref.png"))
            entry["ref"] = os.path.join(d, key + ".ref.png")
            entry["monochrome1"] = str(ds.PhotometricInterpretation).strip() == "MONOCHROME1"
        except Exception as e:  # the reference cannot decode it: say so
            entry["skip"] = f"reference could not decode: {type(e).__name__}: {e}"
        if dcmtk:
            ds0 = pydicom.dcmread(src, force=True, stop_before_pixels=True)
            has_window = "WindowCenter" in ds0 and int(ds0.get("SamplesPerPixel", 1)) == 1
            png = os.path.join(d, key + ".dcmtk.png")
            if dcmtk_png(src, png, 1, has_window):
                entry["dcmtk"] = png
        manifest["pydicom"].append(entry)
    for name, what in BROKEN:
        manifest["broken"].append({"file": os.path.join(TEST_FILES, name), "what": what})


def make_generated(out, manifest, tmp):
    """A shared-data radiograph in every encoding, with the header features that trip tools up."""
    d = os.path.join(out, "generated")
    os.makedirs(d, exist_ok=True)
    shared = os.environ.get("MURA_SHARED_DATA", "")
    png = None
    for root, _, files in sorted(os.walk(os.path.join(shared, "fracatlas"))) if shared else []:
        for f in sorted(files):
            if f.lower().endswith((".png", ".jpg")):
                png = os.path.join(root, f)
                break
        if png:
            break
    if not png:
        manifest["generated_skip"] = "no ../shared/data/fracatlas image to build from"
        return
    img = np.asarray(Image.open(png).convert("L"), dtype=np.uint8)
    img = img[: min(img.shape[0], 512), : min(img.shape[1], 512)]
    save_png(img, os.path.join(d, "source.png"))
    manifest["generated_source"] = png
    study = generate_uid(prefix="1.2.826.0.1.3680043.10.1234.")

    def base(sop, series):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # DX for presentation
        meta.MediaStorageSOPInstanceUID = sop
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = meta.MediaStorageSOPClassUID
        ds.SOPInstanceUID = sop
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = series
        ds.PatientID = "GEN-PATIENT"
        ds.Modality = "DX"
        ds.BodyPartExamined = "WRIST"
        ds.PresentationIntentType = "FOR PRESENTATION"
        ds.Rows, ds.Columns = img.shape
        ds.SamplesPerPixel = 1
        return ds

    # The 8-bit image v maps to stored 12-bit values; MONOCHROME1 (so stored = bright bone
    # is dark) with unused high bits set to garbage; a rescale and two windows of which the
    # first reproduces v exactly (so mura's render equals the PNG within rounding).
    v = img.astype(np.int64)
    stored = (255 - v) * 16 + 8  # 12-bit, MONOCHROME1
    garbage = np.full_like(stored, 0xA000)  # bits 13 and 15 set: must be masked off
    container = (stored | garbage).astype(np.uint16)
    slope, intercept = 0.5, -100.0
    lo_m, hi_m = intercept + slope * 8, intercept + slope * (255 * 16 + 8)
    ds = base(generate_uid(), generate_uid())
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    centre, width = (lo_m + hi_m) / 2 + 0.5, (hi_m - lo_m) + 1
    ds.WindowCenter = [round(centre, 4), 900.0]
    ds.WindowWidth = [round(width, 4), 300.0]
    ds.WindowCenterWidthExplanation = ["FULL", "NARROW"]
    ds.PixelData = container.tobytes()
    raw = os.path.join(d, "raw_le.dcm")
    ds.save_as(raw, write_like_original=False)
    encodings = {"raw_le": raw}
    # The same in other transfer syntaxes. JPEG and JPEG-LS codecs take 12-bit data only
    # when the unused bits are clean, which is the point of the raw file; gdcmconv writes them.
    for enc, args in [("implicit", ["--implicit"]), ("j2k_lossless", ["--j2k"]),
                      ("j2k_lossy", ["--j2k", "--lossy", "-q", "100"]),
                      ("jpegls", ["--jpegls"]), ("jpeg_lossless", ["--jpeg"]), ("rle", ["--rle"]),
                      ("deflate", ["--deflated"])]:
        dst = os.path.join(d, enc + ".dcm")
        r = subprocess.run(["gdcmconv", *args, raw, dst], capture_output=True, text=True)
        if r.returncode == 0 and os.path.exists(dst):
            encodings[enc] = dst
        else:
            manifest.setdefault("generated_failed", {})[enc] = (r.stderr or r.stdout)[-300:]
    # Big endian through DCMTK.
    dst = os.path.join(d, "big_endian.dcm")
    if subprocess.run(["dcmconv", "+tb", raw, dst], capture_output=True).returncode == 0:
        encodings["big_endian"] = dst
    # No preamble, no meta header: the bare data set.
    with open(raw, "rb") as f:
        ds_bare = pydicom.dcmread(f)
    bare = os.path.join(d, "no_meta")  # no extension either: found by content
    ds_bare.file_meta = FileMetaDataset()
    ds_bare.preamble = None
    ds_bare.is_little_endian, ds_bare.is_implicit_VR = True, False
    pydicom.dcmwrite(bare, ds_bare, write_like_original=True)
    encodings["no_meta"] = bare
    # A second series of the same study: MONOCHROME2, Presentation LUT Shape IDENTITY.
    ds2 = base(generate_uid(), generate_uid())
    ds2.PhotometricInterpretation = "MONOCHROME2"
    ds2.BitsAllocated, ds2.BitsStored, ds2.HighBit, ds2.PixelRepresentation = 8, 8, 7, 0
    ds2.PresentationLUTShape = "IDENTITY"
    ds2.PixelData = img.tobytes()
    m2 = os.path.join(d, "series2_mono2.dcm")
    ds2.save_as(m2, write_like_original=False)
    encodings["series2_mono2"] = m2
    manifest["generated"] = {}
    for enc, path in encodings.items():
        entry = {"file": path, "lossy": "lossy" in enc}
        try:
            dsr = decoded_dataset(path, tmp)
            ref = render(dsr)
            save_png(ref, path + ".ref.png")
            entry["ref"] = path + ".ref.png"
            ref2 = render(dsr, "NARROW") if "WindowCenter" in dsr else None
            if ref2 is not None:
                save_png(ref2, path + ".narrow.ref.png")
                entry["ref_narrow"] = path + ".narrow.ref.png"
        except Exception as e:
            entry["skip"] = f"reference could not decode: {type(e).__name__}: {e}"
        manifest["generated"][enc] = entry
    manifest["generated_study"] = study
    # A tree of bad files beside one good one: each gets one line, the good one is indexed.
    bad = os.path.join(out, "bad")
    os.makedirs(bad, exist_ok=True)
    shutil.copy(m2, os.path.join(bad, "good.dcm"))
    with open(os.path.join(bad, "not_dicom.dcm"), "w") as f:
        f.write("this is a text file with a .dcm name")
    huge = pydicom.dcmread(m2)
    huge.Rows = huge.Columns = 60000
    huge.save_as(os.path.join(bad, "huge.dcm"))
    nopix = pydicom.dcmread(m2)
    del nopix.PixelData
    nopix.save_as(os.path.join(bad, "no_pixels.dcm"))
    pal = pydicom.dcmread(m2)
    pal.PhotometricInterpretation = "PALETTE COLOR"
    pal.save_as(os.path.join(bad, "palette.dcm"))
    with open(m2, "rb") as f:
        data = f.read()
    with open(os.path.join(bad, "truncated.dcm"), "wb") as f:
        f.write(data[: len(data) - 1000])
    manifest["bad"] = {"tree": bad, "good": os.path.join(bad, "good.dcm"),
                       "bad": {"not_dicom.dcm": "not a DICOM file", "huge.dcm": "over the limit",
                               "no_pixels.dcm": "no Pixel Data", "palette.dcm": "PALETTE COLOR",
                               "truncated.dcm": "truncated"}}


PHI = {
    "PatientName": "Zyxwvut^Qponmlk",
    "PatientID": "PID-7Q3K9Z",
    "OtherPatientIDs": "OPID-5M2X8W",
    "PatientBirthDate": "19230417",
    "PatientSex": "O",
    "PatientAge": "097Y",
    "AccessionNumber": "ACC-4J7H2V",
    "StudyID": "SID-8N4B6C",
    "InstitutionName": "Hospitalis Quuxensis",
    "ReferringPhysicianName": "Refdoc^Plughwort",
    "PerformingPhysicianName": "Perfdoc^Snarfblat",
    "OperatorsName": "Opname^Frobozzle",
    "StationName": "STATION-XQ77",
    "StudyDate": "19870623",
    "StudyTime": "134711",
    "SeriesDate": "19870624",
    "AcquisitionDate": "19870625",
    "ContentDate": "19870626",
    "StudyDescription": "Descriptio studii wristicus 4R9",
    "SeriesDescription": "Descriptio seriei 6T1",
}


def make_phi_tree(out, manifest):
    d = os.path.join(out, "phi", "export")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(3)
    labels = []
    for k in range(4):
        study = generate_uid(prefix="1.2.826.0.1.3680043.10.1234.")
        labels.append(f"{study},{k % 2}")
        for j in range(2):
            meta = FileMetaDataset()
            meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1"
            meta.MediaStorageSOPInstanceUID = generate_uid()
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds = Dataset()
            ds.file_meta = meta
            ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study, generate_uid()
            for key, val in PHI.items():
                setattr(ds, key, val + (str(k) if key == "PatientID" else ""))
            ds.add_new(0x00091001, "LO", "PRIVATE-TAG-VALUE-9F")
            ds.private_block(0x0009, "MURA TEST", create=True)
            ds.Modality, ds.BodyPartExamined = "CR", "HAND"
            ds.PhotometricInterpretation = "MONOCHROME2"
            ds.Rows = ds.Columns = 96
            ds.SamplesPerPixel, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 1, 16, 12, 11
            ds.PixelRepresentation = 0
            ds.PixelData = rng.integers(0, 4096, (96, 96), dtype=np.uint16).tobytes()
            ds.save_as(os.path.join(d, f"IMG{k}{j}"), write_like_original=False)
    # A bad file among them: named .dcm, not DICOM.
    with open(os.path.join(d, "broken.dcm"), "w") as f:
        f.write("not dicom at all")
    with open(os.path.join(out, "phi", "labels.csv"), "w") as f:
        f.write("\n".join(labels) + "\n")
    # PatientSex is one letter (CS): too short to grep for in binary files, so not listed.
    values = [v for k, v in PHI.items() if k != "PatientSex"] + ["PRIVATE-TAG-VALUE-9F"] + [PHI["PatientID"] + str(k) for k in range(4)]
    manifest["phi"] = {"tree": d, "labels": os.path.join(out, "phi", "labels.csv"), "values": values}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    manifest = {"pydicom": [], "broken": [], "pydicom_version": pydicom.__version__}
    with tempfile.TemporaryDirectory() as tmp:
        write_pydicom_refs(out, manifest, tmp)
        make_generated(out, manifest, tmp)
    make_phi_tree(out, manifest)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"dicom_reference: {len(manifest['pydicom'])} pydicom files, "
          f"{len(manifest.get('generated', {}))} generated encodings, PHI tree in {out}/phi")


if __name__ == "__main__":
    main()
