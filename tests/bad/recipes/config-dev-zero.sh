# -c /dev/zero: a character device, refused before any read (it would never end).
echo /dev/zero
