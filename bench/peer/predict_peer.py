#!/usr/bin/python3
"""Peer for `mura predict` on a folder: the seeds' Python inference loop.

    /usr/bin/python3 bench/peer/predict_peer.py --list FILES.txt --weights W.pth --arch A
        [--img-size 224] [--batch-size 16] [--workers 2] [--threads N] [--mode batched|per-image]
        [--tuned]

batched: DataLoader(num_workers) of PIL open().convert('RGB') + Resize + ToTensor +
Normalize, model.eval() under torch.no_grad(), sigmoid of the logit.
per-image: the second seed's --predict loop, one image at a time.
--tuned: the same loop given bf16 autocast, channels-last and inference_mode.
Prints one JSON line: images, seconds (whole loop, model already built), images/s.
"""
import argparse
import json
import os
import time

import torch
import torchvision
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

p = argparse.ArgumentParser()
p.add_argument("--list", required=True)
p.add_argument("--weights", required=True)
p.add_argument("--arch", default="densenet169")
p.add_argument("--img-size", type=int, default=224)
p.add_argument("--batch-size", type=int, default=16)
p.add_argument("--workers", type=int, default=2)
p.add_argument("--threads", type=int, default=os.cpu_count())
p.add_argument("--mode", default="batched", choices=["batched", "per-image"])
p.add_argument("--tuned", action="store_true",
               help="a tuned peer: bf16 autocast + channels-last + inference_mode")
a = p.parse_args()
torch.set_num_threads(a.threads)
files = [l.strip() for l in open(a.list) if l.strip()]
tf = transforms.Compose([transforms.Resize((a.img_size, a.img_size)), transforms.ToTensor(),
                         transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
model = getattr(torchvision.models, a.arch)(weights=None, num_classes=1)
model.load_state_dict(torch.load(a.weights))
model.eval()
if a.tuned:
    model = model.to(memory_format=torch.channels_last)


def run(x):
    if a.tuned:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return model(x.contiguous(memory_format=torch.channels_last)).float()
    return model(x)


class Files(Dataset):
    def __len__(self):
        return len(files)

    def __getitem__(self, i):
        return tf(Image.open(files[i]).convert("RGB"))


t0 = time.perf_counter()
probs = []
with (torch.inference_mode() if a.tuned else torch.no_grad()):
    if a.mode == "batched":
        for x in DataLoader(Files(), batch_size=a.batch_size, num_workers=a.workers):
            probs += torch.sigmoid(run(x)[:, 0]).tolist()
    else:
        for f in files:
            x = tf(Image.open(f).convert("RGB")).unsqueeze(0)
            probs.append(torch.sigmoid(run(x)[0, 0]).item())
secs = time.perf_counter() - t0
print(json.dumps({"impl": "peer-" + a.mode + ("-tuned" if a.tuned else ""), "images": len(probs), "seconds": round(secs, 3),
                  "images_per_s": round(len(probs) / secs, 2)}))
