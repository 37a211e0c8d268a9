"""The lane network: Pixelopolis's PilotNet, conditioned on the route command.

Trunk (as Pixelopolis): normalise; Conv 24/36/48 5x5 stride 2; Conv 64/64 3x3; Dropout;
Dense 100. Then one head per command (Dense 50/10/1, as in conditional imitation
learning, Codevilla et al. 2018): the command one-hot picks the head, so a junction
frame can be labelled "turn left" and "go straight" without the heads fighting.

The image input is raw uint8-valued pixels (YUV from `lane_input`) as float32; the
Rescaling layer normalises inside the model, so a full-integer export takes camera
pixels straight in.
"""

from __future__ import annotations

from typing import Any

from training.lane.manifest import COMMANDS
from vehicle.perception import LanePreprocess


def build_lane_model(
    *,
    preprocess: LanePreprocess | None = None,
    activation: str = "relu",
    dropout: float = 0.3,
    batch_size: int | None = None,
    width: float = 1.0,
) -> Any:
    """A Keras model {"image": (B, H, W, 3), "command": (B, 3)} -> steering (B, 1).

    `batch_size=1` gives the static shapes the TFLite exports use (no dynamic Flatten).
    `width` scales the convolutions' filters (1 = Pixelopolis's 24/36/48/64/64); the
    inputs, output and heads are the same at every width.
    """
    import keras
    from keras import layers

    preprocess = preprocess or LanePreprocess()
    image = keras.Input(preprocess.shape, batch_size=batch_size, name="image")
    command = keras.Input((len(COMMANDS),), batch_size=batch_size, name="command")
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="normalise")(image)
    # Strided 5x5 convolutions keep "same" padding: a 40-pixel-high input would shrink
    # to nothing before the 3x3 layers otherwise. Output 5x15 -> 3x13 -> 1x11x64.
    for i, filters in enumerate(conv_filters(24, 36, 48, width=width)):
        x = layers.Conv2D(
            filters, 5, strides=2, padding="same", activation=activation, name=f"conv5_{i}"
        )(x)
    for i, filters in enumerate(conv_filters(64, 64, width=width)):
        x = layers.Conv2D(filters, 3, activation=activation, name=f"conv3_{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Dense(100, activation=activation, name="fc100")(x)
    heads = []
    for name in COMMANDS:
        h = layers.Dense(50, activation=activation, name=f"{name}_fc50")(x)
        h = layers.Dense(10, activation=activation, name=f"{name}_fc10")(h)
        heads.append(layers.Dense(1, name=f"{name}_steering")(h))
    stacked = layers.Concatenate(name="heads")(heads)
    chosen = layers.Multiply(name="select")([stacked, command])
    # A fixed all-ones Dense sums the selected head: plain FULLY_CONNECTED in every export.
    steering = layers.Dense(
        1, use_bias=False, kernel_initializer="ones", trainable=False, name="steering"
    )(chosen)
    return keras.Model({"image": image, "command": command}, steering, name="lane_pilotnet")


def conv_filters(*filters: int, width: float) -> tuple[int, ...]:
    """Filter counts scaled by `width`, rounded to a multiple of 4 (at least 8)."""
    return tuple(max(8, 4 * round(f * width / 4)) for f in filters)


def static_copy(
    model: Any, *, preprocess: LanePreprocess, activation: str, width: float = 1.0
) -> Any:
    """The same network and weights with batch size 1, for export."""
    fixed = build_lane_model(
        preprocess=preprocess, activation=activation, dropout=0.0, batch_size=1, width=width
    )
    fixed.set_weights(model.get_weights())
    return fixed
