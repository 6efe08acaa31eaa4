echo "$CASE"
