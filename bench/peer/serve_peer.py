#!/usr/bin/python3
"""The Python service a user would write instead of `mura serve`: FastAPI + uvicorn +
torchvision, the seeds' preprocessing, one forward per request.

    /usr/bin/python3 bench/peer/serve_peer.py --weights W.pth --arch densenet169 \\
        [--img-size 224] [--port 8090] [--threads N]

POST /predict with a raw image body (PNG/JPEG) -> {"probability": p}. Listens on 127.0.0.1.
"""
import argparse
import io

import torch
import torchvision
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from PIL import Image
from torchvision import transforms

p = argparse.ArgumentParser()
p.add_argument("--weights", required=True)
p.add_argument("--arch", default="densenet169")
p.add_argument("--img-size", type=int, default=224)
p.add_argument("--port", type=int, default=8090)
p.add_argument("--threads", type=int, default=None)
a = p.parse_args()
if a.threads:
    torch.set_num_threads(a.threads)
tf = transforms.Compose([transforms.Resize((a.img_size, a.img_size)), transforms.ToTensor(),
                         transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
model = getattr(torchvision.models, a.arch)(weights=None, num_classes=1)
model.load_state_dict(torch.load(a.weights))
model.eval()
app = FastAPI()


@app.get("/health")
def health():
    return {"ok": True}


@app.post("/predict")
async def predict(request: Request):
    body = await request.body()
    try:
        img = Image.open(io.BytesIO(body)).convert("RGB")
    except Exception as e:  # what a user's service would do with a bad upload
        return JSONResponse({"error": str(e)}, status_code=400)
    with torch.no_grad():
        p = torch.sigmoid(model(tf(img).unsqueeze(0)))[0, 0].item()
    return {"probability": p}


uvicorn.run(app, host="127.0.0.1", port=a.port, log_level="warning")
