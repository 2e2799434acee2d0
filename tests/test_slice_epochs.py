"""A loop over slices without validation: its epochs are read from the shorter batch that ends
each one (lossdoctor.slice_epochs), and only when those batches come at one period."""

from lossdoctor.slice_epochs import MIN_EPOCH_ENDS, epoch_starts_from_short_batches


def _steps(sizes):
    return list(enumerate(sizes))


def test_a_short_batch_at_each_epochs_end_marks_the_next_epochs_start():
    sizes = [64, 64, 64, 30] * 4
    assert epoch_starts_from_short_batches(_steps(sizes)) == [0, 4, 8, 12]


def test_full_batches_alone_give_no_epochs():
    assert epoch_starts_from_short_batches(_steps([64] * 20)) == []


def test_short_batches_off_one_period_or_of_several_sizes_give_no_epochs():
    assert epoch_starts_from_short_batches(_steps([64, 30, 64, 64, 30, 64, 30])) == []
    assert epoch_starts_from_short_batches(_steps([64, 30, 64, 20, 64, 30, 64, 20])) == []


def test_too_few_short_batches_to_read_a_period_give_no_epochs():
    sizes = ([64, 64, 30] * (MIN_EPOCH_ENDS - 1))
    assert epoch_starts_from_short_batches(_steps(sizes)) == []


def test_a_run_whose_first_batch_is_not_an_epochs_start_is_not_read():
    assert epoch_starts_from_short_batches(_steps([64, 30, 64, 64, 30, 64, 64, 30])) == []
