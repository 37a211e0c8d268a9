"""Training-data generators: lane-keeping runs (JPEG + JSON Lines) and detection scenes (VOC)."""
