"""网上审批: leave, purchase and generic requests along an approval chain."""
