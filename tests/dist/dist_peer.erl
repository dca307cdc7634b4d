%% Erlang side of the distribution tests (compiled by the tests with erlc).
%%
%% ecounter: a registered gen_server holding an integer; get, {add, N} (call and cast).
%% serve(): starts ecounter, prints "ready", and waits forever (the test kills the node).
%% agents([{Name, TrapExit}]): starts one signal agent per name (see agent below), prints
%% "ready", and waits forever.
-module(dist_peer).
-behaviour(gen_server).
-export([serve/0, start_counter/0, init/1, handle_call/3, handle_cast/2, handle_info/2]).
-export([agents/1]).

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

%% A registered process that links, unlinks, monitors, demonitors and sends exit signals on
%% command, and prints one line per signal it gets:
%%   "Name EXIT Same Reason" for {'EXIT', From, Reason}, "Name DOWN Same Reason" for a DOWN,
%% where Same is true when From is the last pid it was told about. Each command is answered
%% with {ack, Name, What} to the pid it names (after the signal it sends: the ack arrives after
%% it) and a line "Name What".
agents(Specs) ->
    [start_agent(Name, Trap) || {Name, Trap} <- Specs],
    io:format("ready~n"),
    receive stop -> ok end.

start_agent(Name, Trap) ->
    Parent = self(),
    spawn(fun() ->
                  register(Name, self()),
                  process_flag(trap_exit, Trap),
                  Parent ! {registered, Name},
                  agent(Name, undefined, undefined)
          end),
    receive {registered, Name} -> ok end.

agent(Name, Peer, Mon) ->
    receive
        {'$gen_call', From, whoami} ->
            gen:reply(From, self()),
            agent(Name, Peer, Mon);
        {link, Pid} ->
            link(Pid),
            agent_ack(Name, Pid, linked),
            agent(Name, Pid, Mon);
        {unlink, Pid} ->
            unlink(Pid),
            agent_ack(Name, Pid, unlinked),
            agent(Name, Pid, Mon);
        {monitor, Pid} ->
            Ref = erlang:monitor(process, Pid),
            agent_ack(Name, Pid, monitoring),
            agent(Name, Pid, Ref);
        {demonitor, Pid} ->
            erlang:demonitor(Mon, [flush]),
            agent_ack(Name, Pid, demonitored),
            agent(Name, Pid, undefined);
        {exit_to, Pid, Reason} ->
            exit(Pid, Reason),
            agent_ack(Name, Pid, sent_exit),
            agent(Name, Pid, Mon);
        {exit, Reason} ->
            io:format("~s exiting ~p~n", [Name, Reason]),
            exit(Reason);
        ping ->
            io:format("~s pong~n", [Name]),
            agent(Name, Peer, Mon);
        info ->
            io:format("~s info ~p~n",
                      [Name, process_info(self(), [links, monitors, monitored_by])]),
            agent(Name, Peer, Mon);
        {'EXIT', From, Reason} ->
            io:format("~s EXIT ~p ~p~n", [Name, From =:= Peer, Reason]),
            agent(Name, Peer, Mon);
        {'DOWN', Ref, process, From, Reason} ->
            io:format("~s DOWN ~p ~p~n", [Name, Ref =:= Mon andalso From =:= Peer, Reason]),
            agent(Name, Peer, Mon);
        Other ->
            io:format("~s unexpected ~p~n", [Name, Other]),
            agent(Name, Peer, Mon)
    end.

agent_ack(Name, Pid, What) ->
    Pid ! {ack, Name, What},
    io:format("~s ~p~n", [Name, What]).
