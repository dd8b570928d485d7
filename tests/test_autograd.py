import numpy
import pytest

import neuronka as nk
from neuronka import ops


def test_value_used_twice_sums_its_gradients():
    x = nk.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = ops.sum(x * x + x)  # dy/dx = 2x + 1
    y.backward()
    numpy.testing.assert_allclose(x.grad, [3.0, 5.0, 7.0])


def test_gradients_accumulate_across_backward_calls_until_zeroed():
    x = nk.Tensor([1.0, -2.0], requires_grad=True)
    ops.sum(x * 3.0).backward()
    ops.sum(x * 3.0).backward()
    numpy.testing.assert_allclose(x.grad, [6.0, 6.0])
    x.zero_grad()
    assert x.grad is None


def test_broadcast_in_forward_is_summed_in_backward():
    x = nk.Tensor(numpy.ones((4, 3)), requires_grad=True)
    b = nk.Tensor(numpy.ones(3), requires_grad=True)
    ops.sum(x + b).backward()
    numpy.testing.assert_allclose(b.grad, [4.0, 4.0, 4.0])
    assert b.grad.shape == (3,)


def test_no_grad_records_no_graph():
    x = nk.Tensor([1.0], requires_grad=True)
    with nk.no_grad():
        y = x * 2.0
    assert not y.requires_grad and y._ctx is None


def test_detach_cuts_the_graph():
    x = nk.Tensor([2.0], requires_grad=True)
    y = x.detach() * x  # only the second factor carries a gradient
    y.backward(numpy.ones(1, dtype=numpy.float32))
    numpy.testing.assert_allclose(x.grad, [2.0])


def test_backward_releases_saved_arrays():
    x = nk.Tensor(numpy.ones(5), requires_grad=True)
    y = ops.exp(x)
    z = ops.sum(y)
    fn = y._ctx
    z.backward()
    assert y._ctx is None and not hasattr(fn, "y")


def test_backward_on_non_scalar_without_gradient_says_what_it_expected():
    x = nk.Tensor(numpy.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"scalar outputs.*shape \(2, 3\)"):
        (x * 2.0).backward()


def test_backward_with_gradient_of_wrong_shape_is_refused():
    x = nk.Tensor(numpy.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"expected a gradient of shape \(2, 3\), received shape \(3,\)"):
        (x * 2.0).backward(numpy.ones(3))


def test_python_scalars_keep_the_tensor_dtype():
    x = nk.Tensor(numpy.ones(3, numpy.float32))
    assert (x * 2).dtype == numpy.float32
    assert (2.5 - x).dtype == numpy.float32
    assert nk.Tensor([1.0, 2.0]).dtype == numpy.float32  # Python floats become floatx
    assert (nk.Tensor(numpy.ones(2)) * 2).dtype == numpy.float64  # float64 stays float64


def test_mismatched_shapes_name_both_shapes():
    with pytest.raises(ValueError, match=r"add.*\(2, 3\).*\(4,\)"):
        ops.add(numpy.ones((2, 3)), numpy.ones(4))
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        ops.matmul(numpy.ones((2, 3)), numpy.ones((4, 5)))


def test_long_chains_do_not_hit_the_recursion_limit():
    x = nk.Tensor(numpy.ones(2), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    ops.sum(y).backward()
    numpy.testing.assert_allclose(x.grad, [1.0, 1.0])


def test_user_function_is_gradchecked():
    class Cube(nk.Function):
        def forward(self, x):
            self.x = x
            return x**3

        def backward(self, gy):  # d x³/dx = 3x²
            return gy * 3 * self.x**2

    assert nk.gradcheck(lambda a: Cube.apply(a), [numpy.random.default_rng(0).standard_normal((3, 2))])


def test_gradcheck_catches_a_wrong_derivative():
    class Wrong(nk.Function):
        def forward(self, x):
            return x**2

        def backward(self, gy):
            return gy  # should be 2x·gy

    with pytest.raises(AssertionError, match="differ"):
        nk.gradcheck(lambda a: Wrong.apply(a), [numpy.full((2,), 3.0)])


def test_requires_grad_on_a_non_float_dtype_names_expected_and_received():
    with pytest.raises(TypeError, match=r"expected a floating dtype .* received dtype int64"):
        nk.Tensor(numpy.array([1, 2], dtype=numpy.int64), requires_grad=True)
    with pytest.raises(TypeError, match=r"received dtype <U1"):
        nk.Tensor(numpy.array(["a"]), requires_grad=True)
    assert nk.Tensor(numpy.array([1, 2]), requires_grad=False).dtype == numpy.int64


def test_the_graph_does_not_keep_intermediate_values_no_backward_needs():
    import gc
    import weakref

    x = nk.Tensor(numpy.linspace(-1, 1, 5), requires_grad=True)
    a = ops.multiply(x, 2.0)
    values_of_a = weakref.ref(a.data)
    b = ops.exp(a)  # exp's backward reads its output, not its input
    del a
    gc.collect()
    assert values_of_a() is None
    ops.sum(b).backward()
    numpy.testing.assert_allclose(x.grad, 2 * numpy.exp(2 * x.data))


def test_leaf_gradients_are_writable_arrays_of_their_own():
    """Two leaves fed one gradient array (d(a+b)/da = d(a+b)/db) each get their own, and a broadcast
    gradient (d sum(x)/dx) is writable: ``x.grad *= 2`` works, as in PyTorch."""
    a = nk.Tensor(numpy.ones(3), requires_grad=True)
    b = nk.Tensor(numpy.ones(3), requires_grad=True)
    ops.sum(a + b).backward()
    assert a.grad is not b.grad
    a.grad *= 5
    numpy.testing.assert_array_equal(b.grad, numpy.ones(3))
    x = nk.Tensor(numpy.ones((2, 3)), requires_grad=True)
    ops.sum(x).backward()
    x.grad *= 2
    numpy.testing.assert_array_equal(x.grad, 2 * numpy.ones((2, 3)))
    g = numpy.ones((2, 3))
    y = nk.Tensor(numpy.ones((2, 3)), requires_grad=True)
    (y * 1.0).backward(g)
    y.grad += 1
    numpy.testing.assert_array_equal(g, numpy.ones((2, 3)))  # the caller's gradient array is not adopted


def test_a_trained_leaf_and_a_layer_weight_never_share_the_callers_array():
    """Tensor(array, requires_grad=True) and a weight from a callable initializer own their data: training
    (updates in place) leaves the caller's arrays as they were."""
    a = numpy.ones(3, "float32")
    t = nk.Tensor(a, requires_grad=True)
    t.data += 1
    numpy.testing.assert_array_equal(a, numpy.ones(3))
    init = numpy.ones((4, 2), "float32")
    dense = nk.layers.Dense(2, kernel_initializer=lambda shape, dtype=None: init)
    model = nk.Sequential([nk.Input((4,)), dense])
    model.compile(optimizer=nk.optimizers.SGD(0.5), loss="mse")
    model.fit(numpy.ones((8, 4), "float32"), numpy.zeros((8, 2), "float32"), epochs=1, verbose=0)
    assert not numpy.array_equal(dense.kernel.numpy(), init)
    numpy.testing.assert_array_equal(init, numpy.ones((4, 2)))


def test_backward_reports_each_leaf_once_when_its_gradient_is_final_last_layer_first():
    """on_leaf_grad(x) runs the moment x's last use has run its backward: x.grad is then its final value (a
    weight used twice gets both parts first), and the last layer's weights come before the first layer's,
    while the first layer's backward is still to run."""
    from neuronka.autograd import Tensor

    rng = numpy.random.default_rng(0)
    x = Tensor(rng.standard_normal((4, 3)))
    w1, w2 = (Tensor(rng.standard_normal(s), requires_grad=True) for s in ((3, 5), (5, 2)))
    b2 = Tensor(numpy.zeros(2), requires_grad=True)
    seen = []

    def hook(leaf):
        seen.append((leaf, leaf.grad.copy(), w1.grad is None))

    h = x @ w1
    y = (h * h) @ w2 + b2 + (h @ w2) * 0.5  # w2 used twice
    y.sum().backward(on_leaf_grad=hook)
    assert [id(t) for t, _, _ in seen] == [id(b2), id(w2), id(w1)]
    assert [first_pending for _, _, first_pending in seen] == [True, True, False]
    for t, g, _ in seen:
        numpy.testing.assert_array_equal(g, t.grad)
    reference = [numpy.array(t.grad) for t in (w1, w2, b2)]
    for t in (w1, w2, b2):
        t.zero_grad()
    h = x @ w1
    ((h * h) @ w2 + b2 + (h @ w2) * 0.5).sum().backward()  # without the hook: the same gradients
    for t, g in zip((w1, w2, b2), reference):
        numpy.testing.assert_array_equal(t.grad, g)
