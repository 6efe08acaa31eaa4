mkdir -p "$CASE" && python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$CASE/s.conf" && echo "$CASE"
