"""Which ``cnnlab.ops`` functions become graph operations on symbolic tensors, and how Keras 3 names them.

Read from keras/src/ops/{numpy,nn,core,math,linalg}.py (keras 3.15.1): each public op there builds an
``Operation`` subclass from some of its arguments (they become the operation's config) and calls it on the
others (the call's arguments, tensors among them). One line per group of ops sharing that split::

    <keras module> <call parameters> | <config parameters> : <function>[=<ClassName>] ...

The class is the CamelCase function name unless written after ``=``. This table is also the allow-list a
model file is checked against: an operation it does not name cannot be loaded.
"""

from __future__ import annotations

_SPEC = """
core indices values | shape : scatter
core inputs indices updates | reduction : scatter_update
core inputs start_indices | shape : slice
core inputs start_indices updates | : slice_update
core variable | : stop_gradient
core x | dtype : cast
core x | num axis : unstack
linalg a b | : solve
linalg a b | lower : solve_triangular
linalg a b | rcond : lstsq
linalg x | : det eig eigh inv lu_factor
linalg x | full_matrices compute_uv : svd=SVD
linalg x | mode : qr
linalg x | ord axis keepdims : norm
linalg x | rcond : pinv
linalg x | tol : matrix_rank
linalg x | upper : cholesky cholesky_inverse
math data segment_ids | num_segments sorted : segment_max segment_min segment_prod segment_sum
math targets predictions | k : in_top_k
math x | : erf erfc erfinv fft2=FFT2 fft=FFT ifft2=IFFT2 logdet rsqrt view_as_complex view_as_real
math x | axis keepdims : logsumexp
math x | fft_length : irfft=IRFFT rfft=RFFT
math x | k sorted : top_k
math x | sequence_length sequence_stride : extract_sequences
math x y | : cdist=CDist
nn abs_ angle | : polar
nn inputs | num_classes axis dtype sparse : multi_hot
nn inputs | output_size data_format : adaptive_average_pool adaptive_max_pool
nn inputs | pool_size strides padding data_format : average_pool max_pool
nn inputs depthwise_kernel pointwise_kernel | strides padding data_format dilation_rate : separable_conv
nn inputs kernel | strides padding data_format dilation_rate : conv depthwise_conv
nn inputs kernel | strides padding output_padding data_format dilation_rate : conv_transpose
nn target output | from_logits : binary_crossentropy
nn target output | from_logits axis : categorical_crossentropy sparse_categorical_crossentropy
nn x | : hard_sigmoid hard_silu hard_tanh log_sigmoid relu relu6 selu sigmoid silu softplus softsign
         sparse_plus sparse_sigmoid tanh_shrink
nn x | alpha : celu elu
nn x | approximate : gelu
nn x | axes keepdims synchronized : moments
nn x | axis : glu log_softmax softmax sparsemax
nn x | axis order epsilon : normalize
nn x | b : squareplus
nn x | block_size data_format : depth_to_space space_to_depth
nn x | kernel_size dilation padding stride : unfold
nn x | negative_slope : leaky_relu
nn x | num_classes axis dtype sparse : one_hot
nn x | output_size kernel_size dilation padding stride : fold
nn x | threshold : hard_shrink soft_shrink
nn x | threshold default_value : threshold
nn x mean variance offset scale | axis epsilon : batch_normalization=BatchNorm
nn x1 x2 | max_val : psnr=PSNR
numpy array | k axes : rot90
numpy condition x1 x2 | : where
numpy condlist choicelist default | : select
numpy fill_value | shape dtype : full
numpy indices | shape : unravel_index
numpy sorted_sequence values | side : searchsorted=SearchSorted
numpy x | : absolute angle arccos arccosh arcsin arcsinh arctan arctanh bitwise_invert bitwise_not cbrt ceil
            conjugate copy corrcoef cos cosh deg2rad exp exp2 expm1 fabs fliplr flipud floor i0 imag isfinite
            isinf isnan isneginf isposinf isreal log log10 log1p log2 logical_not ndim negative nonzero rad2deg
            ravel real reciprocal sign signbit sin sinc sinh size slogdet sqrt square tan tanh trunc
numpy x | N increasing : vander
numpy x | axes : transpose
numpy x | axis : argsort count_nonzero expand_dims flip sort squeeze stack
numpy x | axis dtype : cumprod cumsum nancumprod nancumsum
numpy x | axis keepdims : all amax amin any argmax argmin mean median nanargmax nanargmin nanmax nanmean
                          nanmedian nanmin nanprod nanstd nansum nanvar ptp std sum var
numpy x | axis keepdims dtype : prod
numpy x | axis keepdims initial : max min
numpy x | axis1 axis2 : swapaxes
numpy x | bins range : histogram
numpy x | decimals : round
numpy x | dtype : array empty_like ones_like view zeros_like
numpy x | indices_or_sections : dsplit hsplit vsplit
numpy x | indices_or_sections axis : array_split split
numpy x | k : diag diagflat tril triu
numpy x | kth axis : argpartition
numpy x | nan posinf neginf : nan_to_num
numpy x | newshape : reshape
numpy x | offset axis1 axis2 : diagonal trace
numpy x | repeats : tile
numpy x | repeats axis : repeat
numpy x | shape : broadcast_to
numpy x | shift axis : roll
numpy x | sorted return_index return_inverse return_counts axis size fill_value : unique
numpy x | source destination : moveaxis
numpy x | weights minlength sparse : bincount
numpy x | x_min x_max : clip
numpy x bins | : digitize
numpy x fill_value | dtype : full_like
numpy x indices | axis : take take_along_axis
numpy x key | : get_item
numpy x q | axis method keepdims : nanpercentile nanquantile percentile quantile
numpy x y | : bitwise_and bitwise_left_shift bitwise_or bitwise_right_shift bitwise_xor left_shift right_shift
numpy x1 x2 | : add arctan2 divide divide_no_nan dot equal floor_divide fmax fmin fmod gcd greater
                greater_equal heaviside hypot inner kron lcm ldexp less less_equal logaddexp logaddexp2
                logical_and logical_or logical_xor matmul maximum minimum mod multiply nextafter not_equal
                outer power subtract true_divide vdot
numpy x1 x2 | assume_unique invert : isin=IsIn
numpy x1 x2 | axes : tensordot
numpy x1 x2 | axis : append
numpy x1 x2 | axisa axisb axisc axis : cross
numpy x1 x2 | mode : correlate
numpy x1 x2 | rtol atol equal_nan : allclose=AllClose
numpy x1 x2 rtol atol | equal_nan : isclose
numpy xs | : dstack hstack vstack
numpy xs | axis : concatenate
numpy y | x dx axis : trapezoid

"""

# cnnlab.ops names that Keras exports as aliases of another op (same operation class).
ALIASES = {"abs": "absolute", "hard_swish": "hard_silu", "conj": "conjugate"}


def parse_spec(text: str = _SPEC) -> dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    """``{function: (keras module, class name, call parameters, config parameters)}`` from the table above."""
    table = {}
    head = None
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            head, _, line = line.partition(":")
            module, _, params = head.partition(" ")
            call, _, config = params.partition("|")
            head = (module, tuple(call.split()), tuple(config.split()))
        for item in line.split():
            function, _, class_name = item.partition("=")
            class_name = class_name or "".join(part[:1].upper() + part[1:] for part in function.split("_"))
            table[function] = (head[0], class_name, head[1], head[2])
    return table


KERAS_OPS = parse_spec()
