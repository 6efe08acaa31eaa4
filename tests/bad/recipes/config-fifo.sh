# -c names a FIFO: refused after fstat, never opened for a blocking read.
mkfifo "$CASE" && echo "$CASE"
