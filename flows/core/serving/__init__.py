"""What the prediction service runs on: the live release it follows, the compiled
record path, and the prediction log it writes and monitoring reads."""
