"""My customers (我的客户): the retailers you inspect, serve or deliver to, licence alerts first."""
