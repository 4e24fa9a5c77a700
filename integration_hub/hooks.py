app_name = "integration_hub"
app_title = "Integration Hub"
app_publisher = "integration_hub contributors"
app_description = (
	"Turns a Frappe site into an integration hub: a curated API, durable signed webhooks "
	"and scheduled background sync"
)
app_email = "maintainers@integration-hub.invalid"
app_license = "mit"

required_apps = []

# Controllers get `DF` type annotations when DocTypes are saved in developer mode.
export_python_type_annotations = True
