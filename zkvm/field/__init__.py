"""BabyBear field (p = 15·2^27 + 1) and its quartic extension."""
