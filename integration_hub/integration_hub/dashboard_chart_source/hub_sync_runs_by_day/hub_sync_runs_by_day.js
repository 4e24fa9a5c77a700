frappe.provide("frappe.dashboards.chart_sources");

frappe.dashboards.chart_sources["Hub Sync Runs by Day"] = {
	method: "integration_hub.operations.charts.sync_runs_per_day",
	filters: [],
};
