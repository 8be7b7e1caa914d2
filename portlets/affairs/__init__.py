"""综合事务: meeting rooms, vehicle requests and business trips."""
