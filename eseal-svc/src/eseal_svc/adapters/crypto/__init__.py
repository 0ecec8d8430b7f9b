"""Crypto adapters: SM2/SM3 and friends, the deployment CA, GB/T 38540 structures, key wrap, seal images."""
