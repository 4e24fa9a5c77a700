# Bench and site plumbing shared by ./run-tests and benchmarks/run. Source it; it is not a command.
#
# The caller sets `prog` (its name, used in messages) and `repo` (this checkout) before sourcing, and
# calls `check_bench` first. Settings come from the environment:
#
# FRAPPE_BENCH          the bench to use (default: ~/frappe-bench). It is a prerequisite: nothing here
#                       builds or downloads Frappe.
# DB_ROOT_USER          MariaDB administrator used to create and drop sites (default: root)
# DB_ROOT_PASSWORD      its password (default: empty; then `use_temporary_db_admin` creates a temporary
#                       administrator with a random password, because Frappe prompts for an empty one)

bench=${FRAPPE_BENCH:-$HOME/frappe-bench}
py="$bench/env/bin/python"
db_user=${DB_ROOT_USER:-root}
db_password=${DB_ROOT_PASSWORD:-}
temp_db_user=""
frappe_version=""
erpnext_version=""
log_dir=""

check_bench() { # the bench exists and runs Frappe 15; sets frappe_version and a scratch log_dir
	if [[ ! -x "$py" || ! -d "$bench/apps/frappe" || ! -d "$bench/sites" ]]; then
		echo "$prog: no Frappe v15 bench at $bench (install one, see README, or set FRAPPE_BENCH)" >&2
		exit 2
	fi
	frappe_version=$("$py" -c "import frappe; print(frappe.__version__)" 2>/dev/null || true)
	if [[ "$frappe_version" != 15.* ]]; then
		echo "$prog: the bench at $bench runs Frappe '${frappe_version:-unknown}', not version 15" >&2
		exit 2
	fi
	if [[ -d "$bench/apps/erpnext" ]] && grep -qx "erpnext" "$bench/sites/apps.txt"; then
		erpnext_version=$("$py" -c "import erpnext; print(erpnext.__version__)" 2>/dev/null || true)
	fi
	log_dir=$(mktemp -d)
	export BENCH="$bench" DB_USER="$db_user" DB_PASSWORD="$db_password"
}

bench_versions() { # one line: the bench's Frappe and ERPNext versions
	if [[ -n "$erpnext_version" ]]; then
		echo "Frappe $frappe_version, ERPNext $erpnext_version"
	else
		echo "Frappe $frappe_version, without ERPNext"
	fi
}

frappe_cli() { (cd "$bench/sites" && "$py" -m frappe.utils.bench_helper frappe "$@" </dev/null); }

db_admin() { # run one SQL statement as the configured MariaDB administrator
	"$py" - "$1" <<'PY'
import json, os, sys
import pymysql
config = json.load(open(os.path.join(os.environ["BENCH"], "sites", "common_site_config.json")))
connection = pymysql.connect(
	host=config.get("db_host", "127.0.0.1"), port=int(config.get("db_port", 3306)),
	user=os.environ["DB_USER"], password=os.environ["DB_PASSWORD"],
)
connection.cursor().execute(sys.argv[1])
PY
}

install_app_on_bench() {
	# The app is this checkout: linked into the bench and installed in editable mode.
	local app_link="$bench/apps/integration_hub"
	if [[ -e "$app_link" && ! -L "$app_link" && "$(cd "$app_link" && pwd -P)" != "$repo" ]]; then
		echo "$prog: $app_link is another copy of the app; remove it or run $prog from there" >&2
		exit 2
	fi
	[[ -L "$app_link" || ! -e "$app_link" ]] && ln -sfn "$repo" "$app_link"
	grep -qx "integration_hub" "$bench/sites/apps.txt" || printf '\nintegration_hub\n' >>"$bench/sites/apps.txt"
	sed -i '/^$/d' "$bench/sites/apps.txt"
	"$py" -m pip install --quiet --disable-pip-version-check -e "$repo[test]" >"$log_dir/pip.log" 2>&1 \
		|| { cat "$log_dir/pip.log" >&2; exit 1; }
}

use_temporary_db_admin() {
	# Frappe prompts for an empty root password, which a run without a terminal cannot answer:
	# use a temporary administrator with a random password instead, dropped by drop_temporary_db_admin.
	temp_db_user="ihtest_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	local temp_db_password
	temp_db_password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
	db_admin "CREATE USER '$temp_db_user'@'%' IDENTIFIED BY '$temp_db_password'"
	db_admin "GRANT ALL PRIVILEGES ON *.* TO '$temp_db_user'@'%' WITH GRANT OPTION"
	db_user=$temp_db_user db_password=$temp_db_password
	export DB_USER="$db_user" DB_PASSWORD="$db_password"
}

drop_temporary_db_admin() {
	if [[ -n "$temp_db_user" ]]; then
		DB_USER=root DB_PASSWORD="" db_admin "DROP USER IF EXISTS '$temp_db_user'@'%'" || true
	fi
}

create_site() { # create_site SITE DESCRIPTION [erpnext]: a new site with this app installed
	# With `erpnext` (on a bench that has it), ERPNext is installed first and its setup completed as an
	# administrator completes it: Frappe's setup wizard (company, currency, fiscal year, accounts).
	local site=$1 description=$2 apps=(--install-app integration_hub)
	[[ "${3:-}" == erpnext ]] && apps=(--install-app erpnext "${apps[@]}")
	echo "$prog: creating site $site on $bench ($(bench_versions)${3:+, ERPNext installed and set up})"
	if ! frappe_cli new-site "$site" --db-root-username "$db_user" --db-root-password "$db_password" \
		--admin-password admin "${apps[@]}" >"$log_dir/new-site.log" 2>&1; then
		tail -n 60 "$log_dir/new-site.log" >&2
		echo "$prog: could not create the $description" >&2
		exit 1
	fi
	if [[ "${3:-}" == erpnext ]] \
		&& ! (cd "$bench/sites" && PYTHONPATH="$repo" "$py" -m tests.site_setup "$site" >"$log_dir/setup.log" 2>&1); then
		tail -n 60 "$log_dir/setup.log" >&2
		echo "$prog: the setup wizard failed on the $description" >&2
		exit 1
	fi
	# Webhook receivers and remote systems in tests and benchmarks listen on 127.0.0.1.
	frappe_cli --site "$site" set-config --parse integration_hub_allow_private_endpoints True >/dev/null
}

site_has_app() { # site_has_app SITE APP
	(cd "$bench/sites" && "$py" - "$1" "$2" <<'PY'
import os, sys
import frappe
frappe.init(site=sys.argv[1], sites_path=os.getcwd())
frappe.connect()
try:
	sys.exit(0 if sys.argv[2] in frappe.get_installed_apps() else 1)
finally:
	frappe.destroy()
PY
	)
}

migrate_site() {
	echo "$prog: migrating the existing site $1"
	frappe_cli --site "$1" migrate >"$log_dir/migrate.log" 2>&1 || { tail -n 60 "$log_dir/migrate.log" >&2; exit 1; }
}

drop_site() { # drop_site SITE: drop it (no backup) if it exists
	if [[ -d "$bench/sites/$1" ]]; then
		frappe_cli drop-site "$1" --db-root-username "$db_user" --db-root-password "$db_password" \
			--force --no-backup >"$log_dir/drop-site.log" 2>&1 || cat "$log_dir/drop-site.log" >&2
		rm -rf "$bench/archived/sites/$1"
	fi
}

remove_log_dir() {
	[[ -n "$log_dir" ]] && rm -rf "$log_dir"
	return 0
}
