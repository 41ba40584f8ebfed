#!/usr/bin/python3
"""The Python peer of mura's loader benchmark: the seed projects' data pipeline.

Run it with Debian's /usr/bin/python3 (torch 1.13, torchvision 0.14, PIL); the pyenv
`python3` on PATH has no torch.

    /usr/bin/python3 bench/peer/loader_peer.py --list FILE [--size 224] [--batch-size 32]
                                               [--workers 2] [--epochs 1]
    /usr/bin/python3 bench/peer/loader_peer.py --data-dir D [--split train] [--limit N] ...

--list FILE: one image per line, "path<TAB>label" (what `mura_bench_loader --list-out`
writes), so both sides load exactly the same files. --data-dir: reads MURA's
<root>/<split>_image_paths.csv, whose paths start with the root folder's own name (they
are relative to the root's parent); the label comes from the study folder's suffix.

The pipeline is the seeds' one, unchanged: a Dataset whose __getitem__ does
Image.open(path).convert('RGB') and Compose([Resize((size, size)), RandomHorizontalFlip(),
RandomRotation(10), ToTensor(), Normalize(ImageNet)]); DataLoader(batch_size, shuffle=True,
num_workers); torch.set_num_threads(1).

One JSON line per epoch on stdout, mode "files": the full epoch as a user experiences it,
from iter(loader) (which starts the worker processes) to the last batch. It also gives
"seconds_after_first_batch", the epoch without the start-up and first batch.
"""
import argparse
import csv
import json
import os
import sys
import time

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


class XRayDataset(Dataset):
    """As in the seeds: (path, label) pairs, PIL decode to RGB, torchvision transforms."""

    def __init__(self, items, transform):
        self.items = items
        self.transform = transform

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label = self.items[i]
        image = Image.open(path).convert('RGB')
        image = self.transform(image)
        return image, torch.tensor(label, dtype=torch.float32)


def read_list(path):
    items = []
    with open(path) as f:
        for line in f:
            line = line.rstrip('\n')
            if not line:
                continue
            file, _, label = line.partition('\t')
            items.append((file, int(label) if label else 0))
    return items


def find_root(data_dir, split):
    csv_name = split + '_image_paths.csv'
    if os.path.isfile(os.path.join(data_dir, csv_name)):
        return data_dir
    children = [os.path.join(data_dir, c) for c in sorted(os.listdir(data_dir))]
    roots = [c for c in children if os.path.isfile(os.path.join(c, csv_name))]
    if len(roots) != 1:
        sys.exit(f'loader_peer: no {csv_name} in {data_dir} or in exactly one child folder')
    return roots[0]


def read_csv(data_dir, split):
    root = find_root(data_dir, split)
    items = []
    with open(os.path.join(root, split + '_image_paths.csv')) as f:
        for row in csv.reader(f):
            if not row or not row[0].strip():
                continue
            rel = row[0].strip()
            # MURA paths start with the root folder's own name; resolve below the root found
            # on disk, so a renamed root still works.
            parts = rel.split('/', 1)
            file = os.path.join(root, parts[1] if len(parts) == 2 else rel)
            study = os.path.basename(os.path.dirname(file))
            items.append((file, 1 if study.endswith('_positive') else 0))
    return items


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument('--list', help='image list, "path<TAB>label" per line')
    src.add_argument('--data-dir', help='MURA-layout data set (root or its parent)')
    ap.add_argument('--split', default='train')
    ap.add_argument('--limit', type=int, default=0, help='first N images only')
    ap.add_argument('--size', type=int, default=224)
    ap.add_argument('--batch-size', type=int, default=32)
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--epochs', type=int, default=1)
    args = ap.parse_args()

    torch.set_num_threads(1)
    items = read_list(args.list) if args.list else read_csv(args.data_dir, args.split)
    if args.limit > 0:
        items = items[:args.limit]
    if not items:
        sys.exit('loader_peer: no images')

    transform = transforms.Compose([
        transforms.Resize((args.size, args.size)),
        transforms.RandomHorizontalFlip(),
        transforms.RandomRotation(10),
        transforms.ToTensor(),
        transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])
    loader = DataLoader(XRayDataset(items, transform), batch_size=args.batch_size,
                        shuffle=True, num_workers=args.workers)

    for epoch in range(args.epochs):
        n = 0
        t0 = time.perf_counter()
        t_first = None
        n_first = 0
        for images, labels in loader:
            if images.shape[0] != labels.shape[0] or images.shape[1:] != (3, args.size, args.size):
                sys.exit(f'loader_peer: unexpected batch shape {tuple(images.shape)}')
            n += images.shape[0]
            if t_first is None:
                t_first = time.perf_counter()
                n_first = n
        seconds = time.perf_counter() - t0
        if n != len(items):
            sys.exit(f'loader_peer: epoch delivered {n} of {len(items)} images')
        after = seconds - (t_first - t0)
        print(json.dumps({
            'impl': 'peer', 'mode': 'files', 'split': args.split, 'images': n,
            'size': args.size, 'batch_size': args.batch_size, 'workers': args.workers,
            'epoch': epoch, 'seconds': round(seconds, 4),
            'images_per_s': round(n / seconds, 1),
            'seconds_after_first_batch': round(after, 4),
            'images_per_s_after_first_batch': round((n - n_first) / after, 1) if after > 0 else 0,
            'torch': torch.__version__, 'pillow': Image.__version__,
        }), flush=True)


if __name__ == '__main__':
    main()
