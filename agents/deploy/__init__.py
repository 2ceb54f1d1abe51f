"""The policy side of deployment: export (ONNX), runtime, the fixed-rate control loop, its log, the uncertainty gate."""
