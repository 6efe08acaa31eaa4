# A procfs file: regular, size 0, read to its end like any file: refused for what it says.
echo /proc/self/status
