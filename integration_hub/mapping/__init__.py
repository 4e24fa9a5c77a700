"""Field maps and transforms: how a record of another system becomes a local document and back. One
room that sync jobs, inbound endpoints and the Desk's checks of their maps all use."""
