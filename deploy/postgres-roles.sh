#!/bin/sh
# Gives each database role the password of its pgpass file (a .pgpass line,
# *:*:dostupno:dostupno_<role>:<password>). The postgres image runs it once, on an empty data
# folder, after 10-roles.sql (a copy of migrations/roles.sql) made the roles; copy it to
# /var/lib/faasd/dostupno/initdb/20-passwords.sh. To run it on a deployment made before the
# roles, see README, "Security".
set -eu
for role in owner writer reader snapshot; do
	password=$(cut -d: -f5- "${SECRETS:-/run/secrets}/pgpass-$role" | tr -d '\n')
	echo "ALTER ROLE dostupno_$role PASSWORD :'password';" |
		psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-dostupno}" -v password="$password"
done
