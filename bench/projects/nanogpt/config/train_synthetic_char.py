# train a miniature character-level model on the synthetic word chain
# good for debugging and playing on macbooks and such

out_dir = 'out-synthetic-char'
eval_interval = 40  # keep frequent because we'll overfit
eval_iters = 8
log_interval = 10  # don't print too too often

# we expect to overfit on this small dataset, so only save when val improves
always_save_checkpoint = False

dataset = 'synthetic_char'
gradient_accumulation_steps = 2
batch_size = 16
block_size = 32  # context of up to 32 previous characters

# baby GPT model :)
n_layer = 2
n_head = 2
n_embd = 48
dropout = 0.1

learning_rate = 3e-3  # with baby networks can afford to go a bit higher
max_iters = 240
lr_decay_iters = 240  # make equal to max_iters usually
min_lr = 3e-4  # learning_rate / 10 usually
beta2 = 0.99  # make a bit bigger because number of tokens per iter is small

warmup_iters = 20  # not super necessary potentially

device = 'cpu'
compile = False
