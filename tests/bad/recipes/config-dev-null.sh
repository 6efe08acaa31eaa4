# -c /dev/null: a character device, not an empty configuration.
echo /dev/null
