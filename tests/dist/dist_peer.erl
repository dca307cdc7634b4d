%% Erlang side of the distribution tests (compiled by the tests with erlc).
%%
%% ecounter: a registered gen_server holding an integer; get, {add, N} (call and cast).
%% serve(): starts ecounter, prints "ready", and waits forever (the test kills the node).
-module(dist_peer).
-behaviour(gen_server).
-export([serve/0, start_counter/0, init/1, handle_call/3, handle_cast/2, handle_info/2]).

serve() ->
    start_counter(),
    io:format("ready~n"),
    receive stop -> ok end.

start_counter() ->
    {ok, _} = gen_server:start({local, ecounter}, ?MODULE, 0, []),
    ok.

init(N) -> {ok, N}.

handle_call(get, _From, N) -> {reply, N, N};
handle_call({add, K}, _From, N) -> {reply, N + K, N + K};
handle_call(whoami, {Pid, _Tag}, N) -> {reply, Pid, N};
handle_call(Other, _From, N) -> {reply, {unknown, Other}, N}.

handle_cast({add, K}, N) -> {noreply, N + K};
handle_cast({report, To}, N) -> To ! {ecounter_value, N}, {noreply, N};
handle_cast(_, N) -> {noreply, N}.

handle_info({echo, To, Msg}, N) -> To ! {echoed, Msg}, {noreply, N};
handle_info(_, N) -> {noreply, N}.
