def experiment_specs(*a, **k):
    raise NotImplementedError


def compare_specs(*a, **k):
    raise NotImplementedError
