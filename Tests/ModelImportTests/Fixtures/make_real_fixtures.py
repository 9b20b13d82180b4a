#!/usr/bin/env python3
"""Writes the ONNX files ModelImportTests reads that came out of real exporters and savers, with
onnxruntime's probabilities for the inputs make_fixtures.py defines:

  keras-real.onnx   a scene-s-like Keras 3 model (two Conv2D → BatchNormalization → ReLU →
                    MaxPooling2D stages, GlobalAveragePooling2D, Dense softmax) with non-trivial
                    BatchNorm statistics and bias, converted by tf2onnx at opset 13 with
                    inputs_as_nchw: the BatchNorms come out folded into the Convs, the pooling as
                    GlobalAveragePool → Squeeze, the head as MatMul → Add → Softmax.
  torch-resnet-external.onnx (+ .onnx.data)  torch-resnet.onnx saved by onnx with every weight in
                    one external data file, as large PyTorch exports are.

Run from this directory after make_fixtures.py: python3 make_real_fixtures.py
(needs tensorflow-cpu 2.21, tf2onnx, onnx, onnxruntime, numpy)
"""
import os

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
    for channels in (8, 16):
        x = layers.Conv2D(channels, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(epsilon=1e-3)(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D(2)(x)
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


keras_real()
write_expected("keras-real")

model = onnx.load("torch-resnet.onnx")
if os.path.exists("torch-resnet-external.onnx.data"):
    os.remove("torch-resnet-external.onnx.data")  # onnx refuses to overwrite it
onnx.save_model(model, "torch-resnet-external.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                location="torch-resnet-external.onnx.data", size_threshold=0)
session_out = ort.InferenceSession("torch-resnet-external.onnx", providers=["CPUExecutionProvider"]).run(None, {"input": inputs()})[0]
z = session_out - session_out.max(axis=1, keepdims=True)
(np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)).astype("<f4").tofile("torch-resnet-external.expected")
print("torch-resnet-external written:", os.path.getsize("torch-resnet-external.onnx.data"), "bytes of external data")
