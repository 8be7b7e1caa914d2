"""客户痕迹区: find a customer, see everything the sources say about them."""
