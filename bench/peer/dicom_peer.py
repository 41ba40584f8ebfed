#!/usr/bin/env python3
"""The Python peer for DICOM decoding, and the files the DICOM bench reads.

  dicom_peer.py make --from DIR --count N --out OUT
      Takes N radiographs (PNG/JPEG) under DIR, writes each as a DICOM file the way a CR/DX
      export looks (MONOCHROME1, 12 bits stored in 16 with the unused high bits set, Rescale
      Slope/Intercept, two windows) uncompressed (explicit VR little endian) under OUT/raw/,
      the same (with clean high bits) compressed to JPEG 2000 lossless by GDCM's gdcmconv
      under OUT/j2k/, and the
      lists OUT/png.txt, OUT/raw.txt, OUT/j2k.txt (one path a line, the same images in order).

  dicom_peer.py run --list FILE --label NAME [--size 224] [--workers 1] [--repeats 3]
      What a pydicom/MONAI user writes: pydicom dcmread + pixel_array + apply_modality_lut +
      apply_voi_lut + MONOCHROME1 inversion, scaled to 8 bits, then the seeds' evaluation
      transforms (PIL Resize((size, size)), ToTensor, ImageNet Normalize); PNGs through PIL
      convert("RGB") and the same transforms. A torch DataLoader with --workers processes
      (1 = in this process). Prints one JSON line, the best repeat:
      {"impl": "peer", "label": NAME, "images": N, "seconds": S, "images_per_s": R}
"""
import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np


def make(args):
    import pydicom
    from PIL import Image
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    found = []
    for root, _, files in sorted(os.walk(args.src)):
        for f in sorted(files):
            if f.lower().endswith((".png", ".jpg", ".jpeg")):
                found.append(os.path.join(root, f))
    if not found:
        sys.exit(f"dicom_peer: no PNG/JPEG under {args.src}")
    found = found[: args.count]
    for sub in ("raw", "j2k"):
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)
    study = generate_uid()
    lists = {"png": [], "raw": [], "j2k": []}
    for i, png in enumerate(found):
        img = np.asarray(Image.open(png).convert("L"), dtype=np.int64)
        stored = (255 - img) * 16 + 8  # MONOCHROME1, 12 bits
        container = (stored | 0xA000).astype(np.uint16)  # unused high bits set
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1"  # CR
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, generate_uid()
        ds.Modality, ds.BodyPartExamined = "CR", "WRIST"
        ds.Rows, ds.Columns = img.shape
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME1"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleSlope, ds.RescaleIntercept = 0.5, -100.0
        lo, hi = -100.0 + 0.5 * 8, -100.0 + 0.5 * (255 * 16 + 8)
        ds.WindowCenter = [round((lo + hi) / 2 + 0.5, 4), 900.0]
        ds.WindowWidth = [round(hi - lo + 1, 4), 300.0]
        ds.PixelData = container.tobytes()
        raw = os.path.join(args.out, "raw", f"{i:05d}.dcm")
        ds.save_as(raw, write_like_original=False)
        # JPEG 2000 from clean 12-bit samples (a codec keeps garbage high bits as data, and
        # GDCM then reports 16 bits stored, as the codestream says).
        ds.PixelData = stored.astype(np.uint16).tobytes()
        clean = os.path.join(args.out, "j2k", "clean.tmp.dcm")
        ds.save_as(clean, write_like_original=False)
        j2k = os.path.join(args.out, "j2k", f"{i:05d}.dcm")
        subprocess.run(["gdcmconv", "--j2k", clean, j2k], check=True, capture_output=True)
        os.remove(clean)
        lists["png"].append(os.path.abspath(png))
        lists["raw"].append(os.path.abspath(raw))
        lists["j2k"].append(os.path.abspath(j2k))
    for name, paths in lists.items():
        with open(os.path.join(args.out, name + ".txt"), "w") as f:
            f.write("\n".join(paths) + "\n")
    print(f"dicom_peer: {len(found)} images x (png, raw, j2k) in {args.out}", file=sys.stderr)


class Files:
    """A torch Dataset over the listed files: the peer's decode + the seeds' transforms."""

    def __init__(self, paths, size):
        from torchvision import transforms

        self.paths = paths
        self.transform = transforms.Compose([
            transforms.Resize((size, size)),
            transforms.ToTensor(),
            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        ])

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        from PIL import Image

        p = self.paths[i]
        if p.lower().endswith(".dcm"):
            import pydicom
            from pydicom.pixel_data_handlers.util import apply_modality_lut, apply_voi_lut

            ds = pydicom.dcmread(p)
            arr = ds.pixel_array
            arr = apply_modality_lut(arr, ds)
            arr = apply_voi_lut(arr, ds, index=0)
            lo, hi = float(arr.min()), float(arr.max())
            arr = (arr - lo) / max(hi - lo, 1e-6) * 255.0
            if ds.PhotometricInterpretation == "MONOCHROME1":
                arr = 255.0 - arr
            img = Image.fromarray(arr.astype(np.uint8)).convert("RGB")
        else:
            img = Image.open(p).convert("RGB")
        return self.transform(img)


def run(args):
    import torch

    # pydicom warns on every JPEG 2000 file that GDCM's encoder declared 16 bits in the
    # codestream for 12 stored bits (the values are the same): not the peer's business here.
    warnings.filterwarnings("ignore", message=".*Bits Stored.*")

    torch.set_num_threads(1)
    with open(args.list) as f:
        paths = [line.strip() for line in f if line.strip()]
    data = Files(paths, args.size)
    best = float("inf")
    for _ in range(args.repeats):
        start = time.perf_counter()
        loader = torch.utils.data.DataLoader(
            data, batch_size=32, shuffle=False,
            num_workers=0 if args.workers == 1 else args.workers,
            worker_init_fn=lambda _: torch.set_num_threads(1))
        check = 0.0
        for batch in loader:
            check += float(batch[:, 0, args.size // 2, args.size // 2].sum())
        best = min(best, time.perf_counter() - start)
    print(json.dumps({"impl": "peer", "label": args.label, "images": len(paths),
                      "threads": args.workers, "seconds": best,
                      "images_per_s": len(paths) / best}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--from", dest="src", required=True)
    m.add_argument("--count", type=int, default=200)
    m.add_argument("--out", required=True)
    r = sub.add_parser("run")
    r.add_argument("--list", required=True)
    r.add_argument("--label", required=True)
    r.add_argument("--size", type=int, default=224)
    r.add_argument("--workers", type=int, default=1)
    r.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    make(args) if args.cmd == "make" else run(args)


if __name__ == "__main__":
    main()
