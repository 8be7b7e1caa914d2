"""Quick links (应用导航): one tile per integrated system, the same for everybody."""
