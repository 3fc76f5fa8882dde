-- A service-level event (workers started, stopped, scaled). ARGV[3] = type, ARGV[4] = data.
emit(ARGV[3], '', '', '', ARGV[4])
return 1
