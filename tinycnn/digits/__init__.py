"""The digit-reading application built on the library: reading a drawing (reading.py) or a
number (numbers.py), preprocessing like MNIST (preprocess.py), pictures (images.py), strokes and
the brush (strokes.py, brush.py, ink.py), calibration, generated training drawings, augmentation,
personalisation and profiles, the training command (train.py), reports and the shipped model
(pretrained.py, models/). The pad (pad/) reads through these; the names are also tc.*."""
