echo /dev/urandom
