"""Model tooling for the ML guests: quantisation, the model blob format, a bit-exact numpy reference of the
guest's integer engine, the guest request/journal encodings, and the digits models."""
