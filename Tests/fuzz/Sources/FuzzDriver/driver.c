// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
// Intentionally empty: the declaration in FuzzDriver.h is implemented by libFuzzer.
