#!/usr/bin/env python3
"""Writes the ONNX files ModelImportTests reads that came out of real exporters and savers, with
onnxruntime's probabilities for the inputs make_fixtures.py defines:

  keras-real.onnx   a scene-s-like Keras 3 model (two Conv2D → BatchNormalization → ReLU →
                    pooling stages, AveragePooling2D then MaxPooling2D, GlobalAveragePooling2D,
                    Dense softmax) with non-trivial
                    BatchNorm statistics and bias, converted by tf2onnx at opset 13 with
                    inputs_as_nchw: the BatchNorms come out folded into the Convs, the pooling as
                    GlobalAveragePool → Squeeze, the head as MatMul → Add → Softmax.
  torch-resnet-external.onnx (+ .onnx.data)  torch-resnet.onnx saved by onnx with every weight in
                    one external data file, as large PyTorch exports are.
  torch-real-vgg.onnx, torch-real-resnet.onnx  exported by torch.onnx.export (TorchScript exporter,
                    eval mode, so BatchNorms are folded into the Convs) from a small VGG-style
                    nn.Sequential with a padded AvgPool2d at opset 13, and a small ResNet of torchvision's own BasicBlocks
                    (identity and 1×1/2 projection shortcuts) at opset 17, random weights and
                    BatchNorm statistics.

Run from this directory after make_fixtures.py: python3 make_real_fixtures.py (each part runs in
its own process: TensorFlow and torch load clashing copies of LLVM)
(needs tensorflow-cpu 2.21, tf2onnx, torch 2.15 + torchvision, onnx, onnxruntime, numpy)
"""
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import onnx
import onnxruntime as ort

N, C, H, W = 200, 3, 16, 16


def inputs():
    n = np.arange(N, dtype=np.int64)[:, None]
    i = np.arange(C * H * W, dtype=np.int64)[None, :]
    v = (n * 1103515245 + i * 12345 + 12345) % 2147483648
    return ((v / 2147483648.0 - 0.5) * 4).astype(np.float32).reshape(N, C, H, W)


def keras_real():
    import keras
    import tensorflow as tf
    import tf2onnx
    from keras import layers

    keras.utils.set_random_seed(3)
    x = inp = keras.Input((H, W, C), name="input")
    for channels, pooling in ((8, layers.AveragePooling2D), (16, layers.MaxPooling2D)):
        x = layers.Conv2D(channels, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(epsilon=1e-3)(x)
        x = layers.ReLU()(x)
        x = pooling(2)(x)
    x = layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inp, layers.Dense(10, activation="softmax")(x))
    rng = np.random.default_rng(1)
    for layer in model.layers:  # statistics and a bias as after training
        if isinstance(layer, layers.BatchNormalization):
            c = layer.get_weights()[0].shape
            layer.set_weights([rng.uniform(0.5, 1.5, c), rng.uniform(-0.3, 0.3, c), rng.uniform(-0.2, 0.2, c), rng.uniform(0.5, 2.0, c)])
        if isinstance(layer, layers.Dense):
            kernel, _ = layer.get_weights()
            layer.set_weights([rng.standard_normal(kernel.shape) * 3, rng.uniform(-0.2, 0.2, 10)])
    spec = (tf.TensorSpec((None, H, W, C), tf.float32, name="input"),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=13, inputs_as_nchw=["input"])
    onnx.save(proto, "keras-real.onnx")


def write_expected(name):
    session = ort.InferenceSession(f"{name}.onnx", providers=["CPUExecutionProvider"])
    out = session.run(None, {session.get_inputs()[0].name: inputs()})[0].astype(np.float64)
    out.astype("<f4").tofile(f"{name}.expected")
    print(name, "written; ops:", sorted({n.op_type for n in onnx.load(f"{name}.onnx", load_external_data=False).graph.node}),
          "top-1 classes used:", len(set(out.argmax(1))))


def torch_real():
    import torch
    from torchvision.models.resnet import BasicBlock

    torch.manual_seed(5)

    def randomize_batchnorm(model):
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.data.uniform_(0.5, 1.5)
                m.bias.data.uniform_(-0.3, 0.3)

    def block(i, o):
        return [torch.nn.Conv2d(i, o, 3, padding=1, bias=False), torch.nn.BatchNorm2d(o), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]

    # An AvgPool2d with padding, counted as zeros (PyTorch's default count_include_pad=True).
    vgg = torch.nn.Sequential(*block(C, 8), torch.nn.AvgPool2d(3, stride=1, padding=1), *block(8, 16), torch.nn.Flatten(),
                              torch.nn.Linear(16 * 4 * 4, 32),
                              torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(32, 10))

    class SmallResNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = torch.nn.Sequential(torch.nn.Conv2d(C, 8, 3, padding=1, bias=False), torch.nn.BatchNorm2d(8), torch.nn.ReLU())
            down = torch.nn.Sequential(torch.nn.Conv2d(8, 16, 1, stride=2, bias=False), torch.nn.BatchNorm2d(16))
            self.layers = torch.nn.Sequential(BasicBlock(8, 8), BasicBlock(8, 16, stride=2, downsample=down))
            self.pool = torch.nn.AdaptiveAvgPool2d((1, 1))
            self.fc = torch.nn.Linear(16, 10)

        def forward(self, x):
            return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))

    for name, model, opset in [("torch-real-vgg", vgg, 13), ("torch-real-resnet", SmallResNet(), 17)]:
        randomize_batchnorm(model)
        model.eval()
        torch.onnx.export(model, (torch.randn(1, C, H, W),), f"{name}.onnx", dynamo=False, opset_version=opset,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
        session = ort.InferenceSession(f"{name}.onnx", providers=["CPUExecutionProvider"])
        logits = session.run(None, {"input": inputs()})[0].astype(np.float64)
        z = logits - logits.max(axis=1, keepdims=True)
        (np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)).astype("<f4").tofile(f"{name}.expected")
        with torch.no_grad():
            reference = torch.softmax(model(torch.from_numpy(inputs())).double(), 1).numpy()
        print(name, "written; ops:", sorted({n.op_type for n in onnx.load(f"{name}.onnx").graph.node}),
              f"torch vs onnxruntime max |dprob| {np.abs(reference - np.fromfile(f'{name}.expected', '<f4').reshape(N, 10)).max():.2e}",
              "top-1 classes used:", len(set(logits.argmax(1))))


def external():
    model = onnx.load("torch-resnet.onnx")
    if os.path.exists("torch-resnet-external.onnx.data"):
        os.remove("torch-resnet-external.onnx.data")  # onnx refuses to overwrite it
    onnx.save_model(model, "torch-resnet-external.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                    location="torch-resnet-external.onnx.data", size_threshold=0)
    out = ort.InferenceSession("torch-resnet-external.onnx", providers=["CPUExecutionProvider"]).run(None, {"input": inputs()})[0]
    z = out - out.max(axis=1, keepdims=True)
    (np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)).astype("<f4").tofile("torch-resnet-external.expected")
    print("torch-resnet-external written:", os.path.getsize("torch-resnet-external.onnx.data"), "bytes of external data")


parts = {"keras": lambda: (keras_real(), write_expected("keras-real")), "torch": torch_real, "external": external}
if len(sys.argv) > 1:
    parts[sys.argv[1]]()
else:
    for part in parts:
        subprocess.run([sys.executable, __file__, part], check=True)
