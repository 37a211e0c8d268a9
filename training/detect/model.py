"""SSDLite on a Keras MobileNetV2 backbone, with a small top-down path for small signs.

Backbone features at strides 8, 16 and 32 (MobileNetV2's expansion outputs before its
stride-2 blocks, and its last layer); the stride-16 and stride-8 maps also receive the
coarser map upsampled (an FPN-style sum), since a sign only 10 pixels high is named by
its colour and shape, which the shallow stride-8 layer alone barely sees. Two SSDLite
extra layers add strides 64 and 128. Each map has SSDLite heads (depthwise 3x3 then
1x1) for box encodings and class logits (sigmoid, no background column).

Every op is one the Edge TPU runs (conv, depthwise conv, add, nearest resize, reshape,
concatenation, logistic) so the full-integer export compiles for it.
"""

from __future__ import annotations

from typing import Any

from training.detect.anchors import AnchorSpec
from vehicle.perception import DetectorPreprocess

FEATURE_LAYERS = ("block_6_expand_relu", "block_13_expand_relu", "out_relu")
PYRAMID = 64  # channels of the top-down maps
PRIOR = 0.01  # initial class probability (focal-loss initialisation)
# Keras builds MobileNetV2 with batch-norm momentum 0.999, made for ImageNet-length runs:
# after the few thousand steps we train from scratch its moving statistics still sit
# near their initial values, and the inference-mode network outputs a constant.
BN_MOMENTUM = 0.99


def build_detector(
    num_classes: int,
    *,
    preprocess: DetectorPreprocess | None = None,
    alpha: float = 0.5,
    anchors: AnchorSpec | None = None,
    batch_size: int | None = None,
    weight_decay: float = 0.0,
    upsample: str = "repeat",
) -> Any:
    """A Keras model image (B, S, S, 3) 0..255 -> {"boxes": (B, N, 4), "classes": (B, N, C)}.

    `classes` are logits. `batch_size=1` gives the static shapes the TFLite exports use.
    `upsample`: "repeat" (UpSampling2D, for training) or "resize" (a nearest-neighbour
    Resizing, numerically the same for a factor of 2; it converts to the Edge TPU's
    RESIZE_NEAREST_NEIGHBOR where UpSampling2D becomes TILE, which it lacks).
    """
    import math

    import keras
    from keras import layers

    if upsample not in ("repeat", "resize"):
        raise ValueError(f"upsample: 'repeat' or 'resize', got {upsample!r}")
    preprocess = preprocess or DetectorPreprocess()
    anchors = anchors or AnchorSpec()
    reg = keras.regularizers.L2(weight_decay) if weight_decay else None
    per = anchors.per_location
    image = keras.Input(preprocess.shape, batch_size=batch_size, name="image")
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="normalise")(image)
    backbone = keras.applications.MobileNetV2(
        input_shape=preprocess.shape, alpha=alpha, include_top=False, weights=None
    )
    features = keras.Model(
        backbone.input, [backbone.get_layer(n).output for n in FEATURE_LAYERS], name="backbone"
    )
    for layer in backbone.layers:  # ours are built with Keras's default, 0.99
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = BN_MOMENTUM
    c8, c16, c32 = features(x)

    def up(t: Any, name: str) -> Any:
        if upsample == "resize":
            h, w = t.shape[1], t.shape[2]
            return layers.Resizing(2 * h, 2 * w, interpolation="nearest", name=name)(t)
        return layers.UpSampling2D(2, name=name)(t)

    def conv_bn(t: Any, filters: int, name: str, kernel: int = 1, strides: int = 1) -> Any:
        t = layers.Conv2D(
            filters,
            kernel,
            strides=strides,
            padding="same",
            use_bias=False,
            kernel_regularizer=reg,
            name=f"{name}_conv",
        )(t)
        t = layers.BatchNormalization(name=f"{name}_bn")(t)
        return layers.ReLU(6.0, name=f"{name}_relu")(t)

    def sep_bn(t: Any, filters: int, name: str, strides: int = 1) -> Any:
        t = layers.DepthwiseConv2D(
            3, strides=strides, padding="same", use_bias=False, name=f"{name}_dw"
        )(t)
        t = layers.BatchNormalization(name=f"{name}_dw_bn")(t)
        t = layers.ReLU(6.0, name=f"{name}_dw_relu")(t)
        return conv_bn(t, filters, name)

    p32 = conv_bn(c32, 128, "p32")
    top32 = conv_bn(p32, PYRAMID, "top32")
    p16 = layers.Add(name="p16_sum")([conv_bn(c16, PYRAMID, "lat16"), up(top32, "up16")])
    p16 = sep_bn(p16, PYRAMID, "p16")
    p8 = layers.Add(name="p8_sum")([conv_bn(c8, PYRAMID, "lat8"), up(p16, "up8")])
    p8 = sep_bn(p8, PYRAMID, "p8")
    p64 = sep_bn(conv_bn(p32, 64, "extra64_in"), 128, "extra64", strides=2)
    p128 = sep_bn(conv_bn(p64, 64, "extra128_in"), 128, "extra128", strides=2)
    maps = [p8, p16, p32, p64, p128]
    if len(maps) != len(anchors.strides):
        raise ValueError("anchors: the model has five feature maps (strides 8 to 128)")

    bias = keras.initializers.Constant(-math.log((1 - PRIOR) / PRIOR))
    boxes, classes = [], []
    for k, fmap in enumerate(maps):
        for kind, width, init in (("box", 4, "zeros"), ("cls", num_classes, bias)):
            t = layers.DepthwiseConv2D(
                3, padding="same", use_bias=False, name=f"head{k}_{kind}_dw"
            )(fmap)
            t = layers.BatchNormalization(name=f"head{k}_{kind}_bn")(t)
            t = layers.ReLU(6.0, name=f"head{k}_{kind}_relu")(t)
            t = layers.Conv2D(
                per * width,
                1,
                bias_initializer=init,
                kernel_regularizer=reg,
                name=f"head{k}_{kind}",
            )(t)
            t = layers.Reshape((-1, width), name=f"head{k}_{kind}_flat")(t)
            (boxes if kind == "box" else classes).append(t)
    out_boxes = layers.Concatenate(axis=1, name="boxes")(boxes)
    out_classes = layers.Concatenate(axis=1, name="classes")(classes)
    return keras.Model(image, {"boxes": out_boxes, "classes": out_classes}, name="ssdlite")


def static_copy(model: Any, num_classes: int, **kwargs: Any) -> Any:
    """The same network and weights with batch size 1, for export."""
    fixed = build_detector(num_classes, batch_size=1, upsample="resize", **kwargs)
    fixed.set_weights(model.get_weights())
    return fixed
