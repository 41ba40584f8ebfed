#!/usr/bin/python3
"""The Python peer of `mura train`: the seed projects' training pipeline and the MURA recipe.

Run it with Debian's /usr/bin/python3 (torch 1.13, torchvision 0.14, PIL, scikit-learn);
the pyenv `python3` on PATH has no torch.

    /usr/bin/python3 bench/peer/train_peer.py --data-dir D [--arch resnet18] [--img-size 224]
        [--batch-size 32] [--lr 1e-4] [--epochs 10] [--max-steps N] [--val-source valid]
        [--seed 42] [--threads T] [--workers 2] [--eval-every-epoch]

It is what `mura train --loss weighted-bce --optimizer adam --scheduler none
--val-source valid --rotate 10` does (horizontal flips on), written the seeds' way:

- data: MURA's <root>/{train,valid}_image_paths.csv, whose paths start with the root folder's
  own name (they are relative to the root's parent); a study's label comes from
  <split>_labeled_studies.csv, else from its folder's suffix (_positive = 1); the body part
  is the XR_* folder. --data-dir may be the root or its parent.
- a torch Dataset: Image.open(path).convert('RGB'), then Compose([Resize((S,S)),
  RandomHorizontalFlip(), RandomRotation(10), ToTensor(), Normalize(ImageNet)]) for training
  and Compose([Resize((S,S)), ToTensor(), Normalize(ImageNet)]) for validation;
  DataLoader(batch_size=B, shuffle=True, num_workers=2) (validation: shuffle=False).
- the model: torchvision.models.<arch>(weights=None) with its head (fc / classifier)
  replaced by nn.Linear(in_features, 1).
- the loss: the MURA paper's weighted binary cross-entropy. Per body part T, counted on the
  training images: w1 = N_T / (A_T + N_T) on abnormal images, w0 = A_T / (A_T + N_T) on
  normal ones; F.binary_cross_entropy_with_logits(logit, y, weight=w) (mean over the batch).
- torch.optim.Adam(lr), constant lr; torch.set_num_threads(T) (default os.cpu_count()).
- validation on the official valid split: image AUROC, and study AUROC where a study's
  probability is the mean of its images' (sklearn.metrics.roc_auc_score).

--max-steps N ends training after N optimizer steps (inside an epoch if need be).

Output, JSON lines on stdout: one per epoch ("event":"epoch": steps so far, train loss, the
epoch's training images/s, and with --eval-every-epoch its validation AUROCs), then a final
one ("event":"final"): steps, train_images_per_s (images / seconds of the training loops
only, each from iter(loader), which starts the worker processes, to the last step; model
building and validation excluded), total_seconds (the whole run), and the final model's
valid image and study AUROC.
"""
import argparse
import csv
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from PIL import Image
from sklearn.metrics import roc_auc_score
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def find_root(data_dir, split):
    csv_name = split + '_image_paths.csv'
    if os.path.isfile(os.path.join(data_dir, csv_name)):
        return data_dir
    children = [os.path.join(data_dir, c) for c in sorted(os.listdir(data_dir))]
    roots = [c for c in children if os.path.isfile(os.path.join(c, csv_name))]
    if len(roots) != 1:
        sys.exit(f'train_peer: no {csv_name} in {data_dir} or in exactly one child folder')
    return roots[0]


def below_root(root, rel):
    # MURA paths start with the root folder's own name; resolve them below the root found on
    # disk, so a renamed root still works.
    parts = rel.strip().split('/', 1)
    return os.path.join(root, parts[1] if len(parts) == 2 else rel)


def read_split(data_dir, split):
    """[(file, label, study, body_part)] of one split, in the CSV's order."""
    root = find_root(data_dir, split)
    study_labels = {}
    labels_csv = os.path.join(root, split + '_labeled_studies.csv')
    if os.path.isfile(labels_csv):
        with open(labels_csv) as f:
            for row in csv.reader(f):
                if len(row) >= 2 and row[0].strip():
                    study_labels[os.path.normpath(below_root(root, row[0]))] = int(row[1])
    items = []
    with open(os.path.join(root, split + '_image_paths.csv')) as f:
        for row in csv.reader(f):
            if not row or not row[0].strip():
                continue
            file = below_root(root, row[0])
            study = os.path.normpath(os.path.dirname(file))
            label = study_labels.get(study)
            if label is None:
                label = 1 if os.path.basename(study).endswith('_positive') else 0
            part = next((p for p in file.split(os.sep) if p.startswith('XR_')), 'XR_UNKNOWN')
            items.append((file, label, study, part))
    if not items:
        sys.exit(f'train_peer: no images in the {split} split of {data_dir}')
    return items


class XRayDataset(Dataset):
    """As in the seeds: PIL decode to RGB, torchvision transforms; also the loss weight."""

    def __init__(self, items, transform, weights):
        self.items = items
        self.transform = transform
        self.weights = weights

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label, _, part = self.items[i]
        image = Image.open(path).convert('RGB')
        image = self.transform(image)
        w0, w1 = self.weights.get(part, (0.5, 0.5))  # as mura for a part unseen in train
        return (image, torch.tensor(label, dtype=torch.float32),
                torch.tensor(w1 if label else w0, dtype=torch.float32))


def mura_weights(items):
    """body part -> (w0, w1): w1 = N/(A+N) on abnormal, w0 = A/(A+N) on normal images."""
    counts = {}
    for _, label, _, part in items:
        n, a = counts.get(part, (0, 0))
        counts[part] = (n + (label == 0), a + (label == 1))
    return {part: (a / (a + n), n / (a + n)) for part, (n, a) in counts.items()}


def make_model(arch):
    model = getattr(torchvision.models, arch)(weights=None)
    if hasattr(model, 'fc'):
        model.fc = nn.Linear(model.fc.in_features, 1)
    elif isinstance(getattr(model, 'classifier', None), nn.Linear):
        model.classifier = nn.Linear(model.classifier.in_features, 1)
    else:
        sys.exit(f'train_peer: do not know the head of {arch}')
    return model


def auroc(labels, scores):
    return float(roc_auc_score(labels, scores)) if len(set(labels)) == 2 else float('nan')


def forward(model, images, tuned):
    if tuned:
        images = images.contiguous(memory_format=torch.channels_last)
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=tuned):
        return model(images)[:, 0].float()


def validate(model, loader, items, tuned):
    model.eval()
    probs = []
    loss_sum = 0.0
    with torch.no_grad():
        for images, labels, weights in loader:
            logits = forward(model, images, tuned)
            loss_sum += F.binary_cross_entropy_with_logits(
                logits, labels, weight=weights, reduction='sum').item()
            probs.extend(torch.sigmoid(logits).tolist())
    labels = [it[1] for it in items]
    studies = {}
    for (_, label, study, _), p in zip(items, probs):
        studies.setdefault(study, [label, []])[1].append(p)
    s_labels = [v[0] for v in studies.values()]
    s_probs = [float(np.mean(v[1])) for v in studies.values()]
    return {'val_loss': loss_sum / len(items), 'val_image_auc': auroc(labels, probs),
            'val_study_auc': auroc(s_labels, s_probs), 'val_images': len(items),
            'val_studies': len(studies)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data-dir', '--data_dir', required=True, help='MURA-layout data set (root or its parent)')
    ap.add_argument('--arch', '--model', default='densenet169')
    ap.add_argument('--img-size', '--img_size', type=int, default=224)
    ap.add_argument('--batch-size', '--batch_size', type=int, default=32)
    ap.add_argument('--lr', type=float, default=1e-4)
    ap.add_argument('--epochs', type=int, default=10)
    ap.add_argument('--max-steps', '--max_steps', type=int, default=0, help='stop after N steps (0: no limit)')
    ap.add_argument('--val-source', '--val_source', choices=['valid'], default='valid',
                    help='validate on the official valid split (the only choice)')
    ap.add_argument('--seed', type=int, default=42)
    ap.add_argument('--threads', type=int, default=0, help='torch threads (0: os.cpu_count())')
    ap.add_argument('--workers', type=int, default=2, help='DataLoader worker processes')
    ap.add_argument('--rotate', type=float, default=10.0)
    ap.add_argument('--eval-every-epoch', action='store_true', help='validate after every epoch')
    ap.add_argument('--tuned', action='store_true',
                    help='a tuned peer: bf16 autocast + channels-last (the loss stays fp32)')
    args = ap.parse_args()

    t_start = time.perf_counter()
    torch.set_num_threads(args.threads if args.threads > 0 else os.cpu_count())
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    train_items = read_split(args.data_dir, 'train')
    val_items = read_split(args.data_dir, 'valid')
    weights = mura_weights(train_items)
    normalize = transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)
    train_tf = transforms.Compose([
        transforms.Resize((args.img_size, args.img_size)),
        transforms.RandomHorizontalFlip(),
        transforms.RandomRotation(args.rotate),
        transforms.ToTensor(),
        normalize,
    ])
    val_tf = transforms.Compose([transforms.Resize((args.img_size, args.img_size)),
                                 transforms.ToTensor(), normalize])
    train_loader = DataLoader(XRayDataset(train_items, train_tf, weights), batch_size=args.batch_size,
                              shuffle=True, num_workers=args.workers)
    val_loader = DataLoader(XRayDataset(val_items, val_tf, weights), batch_size=args.batch_size,
                            shuffle=False, num_workers=args.workers)

    model = make_model(args.arch)
    if args.tuned:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)

    common = {'impl': 'peer', 'arch': args.arch, 'img_size': args.img_size,
              'batch_size': args.batch_size, 'threads': torch.get_num_threads(),
              'workers': args.workers, 'tuned': args.tuned}
    steps = 0
    train_images = 0
    train_seconds = 0.0
    val = {}
    epoch = 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        n = 0
        loss_sum = 0.0
        t0 = time.perf_counter()
        for images, labels, w in train_loader:
            logits = forward(model, images, args.tuned)
            loss = F.binary_cross_entropy_with_logits(logits, labels, weight=w)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            steps += 1
            n += images.shape[0]
            loss_sum += loss.item() * images.shape[0]
            if args.max_steps > 0 and steps >= args.max_steps:
                break
        seconds = time.perf_counter() - t0
        train_images += n
        train_seconds += seconds
        stopped = args.max_steps > 0 and steps >= args.max_steps
        record = {'event': 'epoch', **common, 'epoch': epoch, 'steps': steps, 'images': n,
                  'train_loss': loss_sum / n if n else float('nan'), 'seconds': round(seconds, 4),
                  'images_per_s': round(n / seconds, 2) if seconds > 0 else 0.0}
        if args.eval_every_epoch or stopped or epoch == args.epochs:
            t1 = time.perf_counter()
            val = validate(model, val_loader, val_items, args.tuned)
            record.update(val)
            record['val_seconds'] = round(time.perf_counter() - t1, 4)
        print(json.dumps(record), flush=True)
        if stopped:
            break

    print(json.dumps({
        'event': 'final', **common, 'epochs': epoch, 'steps': steps, 'train_images': train_images,
        'train_seconds': round(train_seconds, 4),
        'train_images_per_s': round(train_images / train_seconds, 2) if train_seconds > 0 else 0.0,
        'total_seconds': round(time.perf_counter() - t_start, 4),
        'val_image_auc': val.get('val_image_auc'), 'val_study_auc': val.get('val_study_auc'),
        'val_loss': val.get('val_loss'), 'seed': args.seed, 'lr': args.lr,
        'torch': torch.__version__, 'torchvision': torchvision.__version__,
    }), flush=True)


if __name__ == '__main__':
    main()
