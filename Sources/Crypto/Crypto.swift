/// Safe Swift layer over libsodium.
