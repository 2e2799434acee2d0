# How the README runs it (bench/projects5.py passes the same arguments).
python run_classification.py --output_dir out --do_train --do_eval \
  --num_train_epochs 6 --per_device_train_batch_size 32 --per_device_eval_batch_size 64 \
  --learning_rate 3e-3 --weight_decay 0.01 --warmup_steps 0.1 --lr_scheduler_type linear \
  --eval_strategy epoch --logging_steps 10 --save_strategy no --report_to none \
  --use_cpu --seed 42 --disable_tqdm true "$@"
