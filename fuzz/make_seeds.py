#!/usr/bin/env python3
"""Writes the seed corpora of mura's fuzz harnesses: OUT/<harness>/<seed files>.

    make_seeds.py OUT [--small]

Seeds are made here from the test references (Pillow for PNG/JPEG, pydicom's own test
files and files it writes, torch.save for .pth in both formats, the MURA CSV forms, the
shapes `mura evaluate`/`mura train` write, HTTP requests for every route). --small keeps
only seeds of at most 4 KB made here
(the checked-in ones under tests/fuzz/). The checkpoint seed
is written by the harness itself (MURA_FUZZ_WRITE_SEED); scripts/fuzz.sh does that.
Python is a test tool here, never a runtime dependency of mura.
"""
import base64
import io
import json
import os
import pathlib
import sys

import numpy as np
from PIL import Image


def png(arr, **kw):
    b = io.BytesIO()
    Image.fromarray(arr).save(b, format="PNG", **kw)
    return b.getvalue()


def jpeg(arr, **kw):
    b = io.BytesIO()
    Image.fromarray(arr).save(b, format="JPEG", **kw)
    return b.getvalue()


def images():
    rng = np.random.default_rng(7)
    g = (rng.random((24, 20)) * 255).astype(np.uint8)
    rgb = (rng.random((16, 16, 3)) * 255).astype(np.uint8)
    rgba = (rng.random((8, 12, 4)) * 255).astype(np.uint8)
    g16 = (rng.random((10, 10)) * 65535).astype(np.uint16)
    out = {
        "gray.png": png(g),
        "gray_interlaced.png": png(g, optimize=False),
        "rgb.png": png(rgb),
        "rgba.png": png(rgba),
        "gray16.png": png(g16),
        "gray.jpg": jpeg(g),
        "rgb.jpg": jpeg(rgb, quality=50),
        "progressive.jpg": jpeg(rgb, progressive=True),
    }
    out["truncated.png"] = out["gray.png"][:-20]
    out["truncated.jpg"] = out["gray.jpg"][: len(out["gray.jpg"]) // 2]
    return out


def dicoms():
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    out = {}
    # pydicom's own test files (Debian's python3-pydicom ships them)
    for p in sorted((pathlib.Path(pydicom.__file__).parent / "data" / "test_files").glob("*.dcm")):
        if p.stat().st_size <= 200_000:
            out[p.name] = p.read_bytes()

    def cr(mono, bits, window, slope, name, voi_lut=False, pad=None):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1"
        ds.file_meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[name, "sop"])
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID = generate_uid(entropy_srcs=[name, "study"])
        ds.SeriesInstanceUID = generate_uid(entropy_srcs=[name, "series"])
        ds.PatientID = "FUZZ"
        ds.Modality = "CR"
        ds.BodyPartExamined = "WRIST"
        ds.Rows, ds.Columns = 16, 12
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = mono
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits, bits - 1
        ds.PixelRepresentation = 0
        if window:
            ds.WindowCenter = [2048, 1000]
            ds.WindowWidth = [4096, 500]
            ds.WindowCenterWidthExplanation = ["FULL", "BONE"]
            ds.VOILUTFunction = "SIGMOID"
        if voi_lut:
            item = Dataset()
            item.LUTDescriptor = [16, 0, 16]
            item.LUTData = np.arange(0, 65536, 4096, dtype=np.uint16).tobytes()
            ds.VOILUTSequence = [item]
        if slope:
            ds.RescaleSlope, ds.RescaleIntercept = -1, 4095
        if pad is not None:
            ds.PixelPaddingValue = pad
        rng = np.random.default_rng(bits)
        arr = (rng.random((16, 12)) * (1 << bits)).astype(np.uint16)
        ds.PixelData = arr.tobytes()
        b = io.BytesIO()
        ds.save_as(b, write_like_original=False)
        out[name] = b.getvalue()

    cr("MONOCHROME2", 12, True, False, "cr_windows.dcm")
    cr("MONOCHROME1", 12, False, True, "cr_mono1_slope.dcm", pad=0)
    cr("MONOCHROME2", 10, False, False, "cr_voi_lut.dcm", voi_lut=True)
    # the fixture tree's files, when the test fixtures were built
    fixtures = pathlib.Path(os.environ.get("MURA_DICOM_DIR", "build/dicom-fixtures"))
    for p in sorted(fixtures.rglob("*")) if fixtures.is_dir() else []:
        if p.is_file() and p.stat().st_size <= 200_000 and p.suffix != ".json":
            out["fixture_" + "_".join(p.relative_to(fixtures).parts)] = p.read_bytes()
    # the harness's first byte picks the VOI window
    return {k: bytes([i % 5]) + v for i, (k, v) in enumerate(out.items())}


def csvs():
    t = "MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/"
    v = "MURA-v1.1/valid/XR_HAND/patient11185/study1_negative/"
    whole = {
        "images": (0, f"{t}image1.png\n{t}image2.png\nMURA-v1.1/train/XR_ELBOW/patient00002/study2_negative/image1.png\n"),
        "labels": (1, f"{t},1\nMURA-v1.1/train/XR_ELBOW/patient00002/study2_negative/,0\n"),
        "valid_images_skip": (6, f"\ufeff{v}image1.png\r\n\"{v}image2.png\"\r\n"),
        "valid_labels_skip": (7, f"{v},0\n{v},1\nnot,a,line\n"),
        "bad_label": (1, f"{t},2\n"),
    }
    files = {f"{k}.csv": bytes([b]) + s.encode() for k, (b, s) in whole.items()}
    lines = {
        "image_line": (0, f"{t}image3.png"),
        "label_line": (1, f"{t},1"),
        "label_line_first": (3, "MURA-v1.1/train/XR_HAND/patient00003/study1_negative/,0"),
        "quoted": (2, f"\"{t}image1.png\""),
        "other_root": (0, "MURA-v1.0/train/XR_WRIST/patient00001/study1_positive/image9.png"),
    }
    line_seeds = {f"{k}.txt": bytes([b]) + s.encode() for k, (b, s) in lines.items()}
    return files, line_seeds


def pths():
    import torch

    out = {}
    base = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    sd = {
        "conv.weight": base,
        "conv.bias": torch.zeros(3, dtype=torch.float64),
        "bn.num_batches_tracked": torch.tensor(5),
        "view": base[1],
        "half": torch.ones(2, 2, dtype=torch.float16),
        "transposed": base[0].t(),
    }
    for name, kw in (("zip.pth", {}), ("legacy.pth", {"_use_new_zipfile_serialization": False})):
        b = io.BytesIO()
        torch.save(sd, b, **kw)
        out[name] = b.getvalue()
    b = io.BytesIO()
    torch.save({"state_dict": {"fc.weight": torch.ones(1, 2)}, "epoch": 3}, b)
    out["nested.pth"] = b.getvalue()
    return out


def report_inputs():
    level = {"auroc": 0.9, "kappa": 0.7, "sensitivity": 0.8, "specificity": 0.85,
             "confusion_matrix": [[10, 2], [3, 12]],
             "classification_report": {"normal": {"precision": 0.8}}}
    metrics = {"format_version": 1, "study": level, "image": level,
               "per_body_part": {"XR_WRIST": {"study": level}}, "threshold": 0.5}
    preds = ("path,body_part,study,label,probability\n"
             "MURA-v1.1/valid/XR_WRIST/patient1/study1_positive/image1.png,XR_WRIST,"
             "MURA-v1.1/valid/XR_WRIST/patient1/study1_positive/,1,0.93\n"
             "\"a,b.png\",XR_HAND,s,0,1e-3\n")
    log = "epoch,step,train_loss,val_loss,val_study_auc,lr,seconds\n1,10,0.69,0.68,0.71,1e-3,3.5\n2,20,0.5,,,1e-4,3.4\n"
    return {"metrics.json": b"\x00" + json.dumps(metrics).encode(),
            "predictions.csv": b"\x01" + preds.encode(),
            "metrics.csv": b"\x02" + log.encode(),
            "line.csv": b"\x03" + b'"a ""b""",c,,d'}


def kserve_bodies(png_bytes):
    img = base64.b64encode(png_bytes).decode()
    px = [0.5] * (3 * 32 * 32)
    return {
        "bytes.json": json.dumps({"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES",
                                              "data": [img]}]}).encode(),
        "fp32_flat.json": json.dumps({"id": "r1", "inputs": [{"name": "pixels", "shape": [1, 3, 32, 32],
                                                              "datatype": "FP32", "data": px}]}).encode(),
        "fp32_nested.json": json.dumps({"inputs": [{"name": "pixels", "shape": [1, 3, 1, 2],
                                                    "datatype": "FP32", "data": [[[[0.1, 0.2]], [[0.3, 0.4]], [[0.5, 0.6]]]]}],
                                        "outputs": [{"name": "probability"}]}).encode(),
    }


def http_requests(png_bytes, kserve):
    auth = "Authorization: Bearer fuzz-token\r\n"

    def req(method, path, body=b"", headers="", ctype=None, token=True):
        h = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (auth if token else "") + headers
        if ctype:
            h += f"Content-Type: {ctype}\r\n"
        if method == "POST":
            h += f"Content-Length: {len(body)}\r\n"
        return h.encode() + b"\r\n" + body

    boundary = "fuzzboundary"
    multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
                 "Content-Type: image/png\r\n\r\n").encode() + png_bytes + (
        f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.png\"\r\n"
        "Content-Type: image/png\r\n\r\n").encode() + png_bytes + f"\r\n--{boundary}--\r\n".encode()
    return {
        "live.http": req("GET", "/v2/health/live", token=False),
        "ready.http": req("GET", "/v2/health/ready"),
        "page.http": req("GET", "/", token=False),
        "metrics.http": req("GET", "/metrics"),
        "model.http": req("GET", "/v2/models/mura", headers="X-Request-Id: abc-1\r\n"),
        "predict_raw.http": req("POST", "/predict", png_bytes, ctype="image/png"),
        "predict_cam.http": req("POST", "/predict?gradcam=1", png_bytes, ctype="image/png"),
        "predict_multipart.http": req("POST", "/predict", multipart,
                                      ctype=f"multipart/form-data; boundary={boundary}"),
        "infer.http": req("POST", "/v2/models/mura/infer", kserve["bytes.json"], ctype="application/json"),
        "infer_nested.http": req("POST", "/v2/models/mura/infer", kserve["fp32_nested.json"],
                                 ctype="application/json"),
        "chunked.http": b"POST /predict HTTP/1.1\r\nHost: localhost\r\n" + auth.encode() +
                        b"Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n",
        "no_token.http": req("POST", "/predict", png_bytes, ctype="image/png", token=False),
        "options.http": req("OPTIONS", "/predict", headers="Origin: http://x\r\n"),
    }


def main():
    out = pathlib.Path(sys.argv[1])
    small = "--small" in sys.argv
    ims = images()
    csv_files, csv_lines = csvs()
    kserve = kserve_bodies(ims["gray.png"])
    corpora = {"image": ims, "dicom": dicoms(), "csv": csv_files, "csv_line": csv_lines,
               "pth": pths(), "report_inputs": report_inputs(), "kserve": kserve,
               "http": http_requests(ims["gray.png"], kserve)}
    total = 0
    for harness, seeds in corpora.items():
        d = out / harness
        d.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            if small and len(data) > 4096:
                continue
            if small and harness == "dicom" and not name.startswith("cr_"):
                continue  # only files made here are checked in (not pydicom's, not ../shared's)
            (d / ("seed-" + name)).write_bytes(data)
            total += 1
    print(f"make_seeds: {total} seeds in {out}")


if __name__ == "__main__":
    main()
