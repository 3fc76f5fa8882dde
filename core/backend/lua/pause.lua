-- ARGV[3] = '1' to pause taking new jobs, '0' to resume.
if ARGV[3] == '1' then
  if redis.call('SET', P .. 'paused', NOW_S, 'NX') then emit('QUEUE_PAUSED', '', '', '', '') end
else
  if redis.call('DEL', P .. 'paused') == 1 then
    emit('QUEUE_RESUMED', '', '', '', '')
    wake(WAKE_MAX)
  end
end
return 1
