frappe.provide("frappe.dashboards.chart_sources");

frappe.dashboards.chart_sources["Hub Deliveries by Hour"] = {
	method: "integration_hub.operations.charts.deliveries_per_hour",
	filters: [],
};
