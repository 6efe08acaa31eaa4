mkdir -p "$CASE" && truncate -s 20M "$CASE/big.conf" && echo "$CASE"
